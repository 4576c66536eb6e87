package sshutil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// The guest's host key is pinned per instance in <instdir>/ssh_known_hosts, under the host name
// "lima-NAME" (HostKeyAlias), one line per key:
//
//	lima-NAME ssh-ed25519 AAAA...
//	lima-NAME,[127.0.0.1]:PORT ssh-ed25519 AAAA...   (also accepted; see KnownHostsLine)
//
// ssh.config sets `HostKeyAlias lima-NAME`, so OpenSSH looks the key up under that name rather than
// under "[127.0.0.1]:PORT"; the pin therefore survives a change of the forwarded SSH port, and a key
// recorded for one instance never matches another instance that later gets the same port. Dial
// checks the same alias. Lines keyed only by "[127.0.0.1]:PORT" are accepted by Dial too, as a
// fallback when the file has no line for the alias (OpenSSH, given HostKeyAlias, needs the alias).

// KnownHostsFile returns <instDir>/ssh_known_hosts.
func KnownHostsFile(instDir string) string {
	return filepath.Join(instDir, filenames.SSHKnownHosts)
}

// HostKeyAlias returns the host name the guest key of instance name is recorded under: "lima-NAME",
// the same as the Host entry in ssh.config.
func HostKeyAlias(name string) string { return "lima-" + name }

// KnownHostsLine returns the known_hosts line that pins key for instance name, with a newline:
// "lima-NAME ssh-ed25519 AAAA...". When port is not 0 the line also carries the pattern
// "[127.0.0.1]:PORT", for tools that connect without the alias (it is then rewritten on each start).
func KnownHostsLine(name string, port int, key ssh.PublicKey) string {
	hosts := []string{HostKeyAlias(name)}
	if port != 0 {
		hosts = append(hosts, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}
	return knownhosts.Line(hosts, key) + "\n"
}

// WriteKnownHosts replaces <instDir>/ssh_known_hosts with the lines pinning keys for instance
// name (see KnownHostsLine for port).
func WriteKnownHosts(instDir, name string, port int, keys ...ssh.PublicKey) error {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(KnownHostsLine(name, port, k))
	}
	return atomicfile.WriteFile(KnownHostsFile(instDir), []byte(b.String()), 0o600)
}

// ErrHostKeyChanged is wrapped by Dial when the guest presents a key other than the pinned one.
var ErrHostKeyChanged = errors.New("the guest's SSH host key changed")

// ErrHostKeyUnknown is wrapped by Dial when the known_hosts file has no key for the guest.
var ErrHostKeyUnknown = errors.New("no SSH host key is pinned for the guest")

// hostKeyCallback checks the guest key against knownHostsFile, first under alias (when set), then
// under the dialed address.
func hostKeyCallback(knownHostsFile, alias string) (ssh.HostKeyCallback, error) {
	if knownHostsFile == "" {
		return nil, fmt.Errorf("%w: no known_hosts file given", ErrHostKeyUnknown)
	}
	if _, err := os.Stat(knownHostsFile); err != nil {
		return nil, fmt.Errorf("%w: %w; restart the instance (`limactl stop` then `limactl start`) to pin it again", ErrHostKeyUnknown, err)
	}
	check, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", knownHostsFile, err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if alias != "" {
			err := check(net.JoinHostPort(alias, "22"), remote, key)
			if !isUnknownHost(err) {
				return describeHostKeyError(err, knownHostsFile, alias, key)
			}
		}
		err := check(hostname, remote, key)
		name := alias
		if name == "" {
			name = hostname
		}
		return describeHostKeyError(err, knownHostsFile, name, key)
	}, nil
}

func isUnknownHost(err error) bool {
	var ke *knownhosts.KeyError
	return errors.As(err, &ke) && len(ke.Want) == 0
}

func describeHostKeyError(err error, file, name string, key ssh.PublicKey) error {
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	fp := ssh.FingerprintSHA256(key)
	restart := "restart the instance (`limactl stop` then `limactl start`)"
	if inst, ok := strings.CutPrefix(name, "lima-"); ok {
		restart = fmt.Sprintf("restart the instance (`limactl stop %s && limactl start %s`)", inst, inst)
	}
	if len(ke.Want) == 0 {
		return fmt.Errorf("%w: %q has no key for %s (guest offered %s); %s to pin it again",
			ErrHostKeyUnknown, file, name, fp, restart)
	}
	want := make([]string, 0, len(ke.Want))
	for _, k := range ke.Want {
		want = append(want, ssh.FingerprintSHA256(k.Key)+" ("+filepath.Base(k.Filename)+":"+strconv.Itoa(k.Line)+")")
	}
	return fmt.Errorf("%w for %s: it offered %s but %q pins %s. "+
		"If the instance was recreated or its disk replaced, %s so limactl pins the new key; "+
		"otherwise another VM or process may be answering on this port (check `limactl list`)",
		ErrHostKeyChanged, name, fp, file, strings.Join(want, ", "), restart)
}
