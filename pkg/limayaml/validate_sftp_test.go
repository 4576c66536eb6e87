package limayaml

import "testing"

// openssh-sftp-server is refused only where it would let the guest write anywhere: on a writable
// reverse-sshfs mount.
func TestValidateOpenSSHSFTPServer(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	for _, c := range []struct {
		name, yaml string
		ok         bool
	}{
		{"read-only", "mountType: reverse-sshfs\nmounts:\n- location: /tmp/lima\n  sshfs:\n    sftpDriver: openssh-sftp-server\n", true},
		{"writable, 9p", "mountType: 9p\nmounts:\n- location: /tmp/lima\n  writable: true\n  sshfs:\n    sftpDriver: openssh-sftp-server\n", true},
		{"writable, builtin", "mountType: reverse-sshfs\nmounts:\n- location: /tmp/lima\n  writable: true\n  sshfs:\n    sftpDriver: builtin\n", true},
		{"writable", "mountType: reverse-sshfs\nmounts:\n- location: /tmp/lima\n  writable: true\n  sshfs:\n    sftpDriver: openssh-sftp-server\n", false},
	} {
		err := loadAndValidate(t, limaHome, validImage+c.yaml)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
