package hostagent

import (
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
	"github.com/limactl/limactl/pkg/store"
)

// fakeGuestAgent returns an agent for instance "vm" in dir whose guest is an in-test SSH server
// (commands run on the host) with hostSigner as its host key (a fresh one when nil), pinned in the
// instance's known_hosts. The guest user is "tester"; markers live under dir/root. Tests fill in
// a.inst.Config as they need.
func fakeGuestAgent(t *testing.T, dir string, hostSigner ssh.Signer) (*agent, *sshtest.Server) {
	t.Helper()
	guest := sshtest.Start(t, sshtest.Options{HostSigner: hostSigner})
	if err := sshutil.WriteKnownHosts(dir, "vm", guest.Port, guest.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	user := "tester"
	y := &limayaml.LimaYAML{}
	y.User.Name = &user
	a := &agent{
		inst:       &store.Instance{Name: "vm", Dir: dir, Config: y},
		sshPort:    guest.Port,
		user:       user,
		signer:     guest.ClientSigner,
		markerRoot: filepath.Join(dir, "root"),
	}
	t.Cleanup(a.closeSSH)
	return a, guest
}
