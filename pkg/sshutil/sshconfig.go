package sshutil

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Option is one OpenSSH client option, with Value written as it appears in an ssh_config file
// (paths double-quoted).
type Option struct {
	Key, Value string
}

// SSHConfigFile returns <instDir>/ssh.config.
func SSHConfigFile(instDir string) string { return filepath.Join(instDir, filenames.SSHConfig) }

// SSHOptions returns the OpenSSH options for reaching instance name, in the order ssh.config lists
// them. The guest key is checked strictly against knownHosts under HostKeyAlias(name); the
// ControlMaster settings only matter to OpenSSH users (limactl's own client is in-process).
func SSHOptions(instDir, name, user string, port int, identityFile, knownHosts string) []Option {
	opts := []Option{
		{"IdentityFile", quotePath(identityFile)},
		{"User", user},
		{"Hostname", "127.0.0.1"},
		{"Port", strconv.Itoa(port)},
		{"StrictHostKeyChecking", "yes"},
		{"UserKnownHostsFile", quotePath(knownHosts)},
		{"HostKeyAlias", HostKeyAlias(name)},
		{"CheckHostIP", "no"},
		{"NoHostAuthenticationForLocalhost", "no"},
		{"PreferredAuthentications", "publickey"},
		{"BatchMode", "yes"},
		{"IdentitiesOnly", "yes"},
		{"Compression", "no"},
	}
	// Win32-OpenSSH has no connection multiplexing.
	if runtime.GOOS != "windows" {
		opts = append(opts,
			Option{"ControlMaster", "auto"},
			Option{"ControlPath", quotePath(ControlPath(instDir))},
			Option{"ControlPersist", "yes"},
		)
	}
	return append(opts, Option{"LogLevel", "ERROR"})
}

// ControlPath returns the OpenSSH ControlMaster socket for an instance: <instDir>/ssh.sock, or,
// when that path is too long for a Unix socket (OpenSSH adds a 17-character suffix while creating
// it), a short per-instance name in the temporary directory.
func ControlPath(instDir string) string {
	p := filepath.Join(instDir, filenames.SSHSock)
	if len(p)+len(".XXXXXXXXXXXXXXXX") < unixPathMax() {
		return p
	}
	sum := sha256.Sum256([]byte(instDir))
	return filepath.Join(os.TempDir(), "lima-"+hex.EncodeToString(sum[:8])+".sock")
}

// unixPathMax is the size of sun_path, including the terminating NUL.
func unixPathMax() int { return osutil.UnixPathMax(runtime.GOOS) }

// quotePath double-quotes a path for ssh_config and escapes "%", which OpenSSH expands as a token
// in IdentityFile, UserKnownHostsFile and ControlPath.
func quotePath(p string) string {
	return `"` + strings.ReplaceAll(p, "%", "%%") + `"`
}

func writeConfigBlock(b *bytes.Buffer, name string, opts []Option) {
	fmt.Fprintf(b, "Host %s\n", HostKeyAlias(name))
	for _, o := range opts {
		fmt.Fprintf(b, "  %s %s\n", o.Key, o.Value)
	}
}

// WriteSSHConfig writes <instDir>/ssh.config (mode 0600) so that
// `ssh -F <instDir>/ssh.config lima-NAME` reaches the guest with OpenSSH.
func WriteSSHConfig(instDir, name, user string, port int, identityFile, knownHosts string) error {
	return WriteSSHConfigOptions(instDir, name, SSHOptions(instDir, name, user, port, identityFile, knownHosts))
}

// WriteSSHConfigOptions writes <instDir>/ssh.config from opts (e.g. SSHOptions plus ForwardAgent).
func WriteSSHConfigOptions(instDir, name string, opts []Option) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by limactl on each start. Use: ssh -F %s %s\n",
		shellQuoteIfNeeded(SSHConfigFile(instDir)), HostKeyAlias(name))
	writeConfigBlock(&b, name, opts)
	return atomicfile.WriteFile(SSHConfigFile(instDir), b.Bytes(), 0o600)
}

// SSHConfig is a parsed ssh.config as written by WriteSSHConfig.
type SSHConfig struct {
	Host    string
	Options []Option
}

// Get returns the unquoted value of key (case-insensitive), or "".
func (c *SSHConfig) Get(key string) string {
	for _, o := range c.Options {
		if strings.EqualFold(o.Key, key) {
			v := o.Value
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = strings.ReplaceAll(v[1:len(v)-1], "%%", "%")
			}
			return v
		}
	}
	return ""
}

// Port returns the Port option as a number, or 0.
func (c *SSHConfig) Port() int {
	p, _ := strconv.Atoi(c.Get("Port"))
	return p
}

// ReadSSHConfig parses the first Host block of an ssh.config written by WriteSSHConfig (or by Lima).
func ReadSSHConfig(path string) (*SSHConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c SSHConfig
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if k, v, ok := strings.Cut(key, "="); ok {
			key, val = k, v
		}
		val = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(val), "="))
		if strings.EqualFold(key, "Host") {
			if c.Host != "" {
				break
			}
			c.Host = val
			continue
		}
		c.Options = append(c.Options, Option{Key: key, Value: val})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	return &c, nil
}
