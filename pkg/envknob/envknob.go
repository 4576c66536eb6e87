// Package envknob is the one place where limactl reads its environment variables. Every knob a user
// can set is declared here with its meaning, so `grep envknob` finds them all.
package envknob

import (
	"os"
	"strings"
	"time"
)

// Knob is one environment variable.
type Knob struct {
	Name string
	Doc  string
}

// Get returns the knob's value, or "" when unset.
func (k Knob) Get() string { return os.Getenv(k.Name) }

// Lookup returns the knob's value and whether it is set.
func (k Knob) Lookup() (string, bool) { return os.LookupEnv(k.Name) }

// Bool reports whether the knob is set to a true value (1, true, yes, on).
func (k Knob) Bool() bool {
	switch strings.ToLower(strings.TrimSpace(k.Get())) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Off reports whether the knob is set to a false value (0, false, no, off): a switch that is on
// unless turned off.
func (k Knob) Off() bool {
	switch strings.ToLower(strings.TrimSpace(k.Get())) {
	case "0", "false", "no", "off":
		return true
	}
	return false
}

// Duration returns the knob's value as a positive duration ("5s"), or 0 when it is unset or not one.
func (k Knob) Duration() time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(k.Get()))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

var all []Knob

func knob(name, doc string) Knob {
	k := Knob{Name: name, Doc: doc}
	all = append(all, k)
	return k
}

// All lists every declared knob, for documentation.
func All() []Knob { return append([]Knob(nil), all...) }

var (
	LimaHome          = knob("LIMA_HOME", "Directory holding instances and _config; default ~/.lima.")
	LimaInstance      = knob("LIMA_INSTANCE", "Instance the `lima` wrapper uses; default \"default\".")
	LimaShell         = knob("LIMA_SHELL", "Shell the `lima` wrapper runs in the guest.")
	LimaWorkdir       = knob("LIMA_WORKDIR", "Working directory the `lima` wrapper uses in the guest.")
	LimaTemplatesPath = knob("LIMA_TEMPLATES_PATH", "Colon-separated directories searched for template:NAME, replacing $LIMA_HOME/_templates and <prefix>/share/lima/templates; the embedded templates come last.")
	LimaCacheHome     = knob("LIMA_CACHE_HOME", "Download cache directory; default $XDG_CACHE_HOME/lima (~/.cache/lima).")
	LimaQEMUAccel     = knob("LIMA_QEMU_ACCEL", "Force the QEMU accelerator: kvm, hvf, whpx or tcg (skips the KVM probe and the fallback to tcg).")
	// LimactlTestSilentAccel is for tests of the fallback from a hardware accelerator that never runs
	// the guest: hosts with such a KVM are rare, and a test must reach the fallback on any host.
	LimactlTestSilentAccel = knob("LIMACTL_TEST_SILENT_ACCEL", "Tests only: a duration (e.g. 5s). The first QEMU launch of a start keeps its vCPUs stopped and counts as hardware-accelerated, and the host agent falls back to tcg after that long without a sign of life.")
	Visual                 = knob("VISUAL", "Editor used by `limactl edit` and the create prompt; preferred over EDITOR.")
	Editor                 = knob("EDITOR", "Editor used when VISUAL is unset.")
	XDGCacheHome           = knob("XDG_CACHE_HOME", "Base of the default download cache.")
)

// LimaGuestAgentExec is read by the host agent when its SSH mux starts.
var LimaGuestAgentExec = knob("LIMA_GUESTAGENT_EXEC", "Set to 0 or false to run `limactl shell` commands without a terminal through the guest's sshd only, not through the guest agent's tunnel.")

// LimaGuestAgentTunnel is read by the host agent when it starts its port forwarding.
var LimaGuestAgentTunnel = knob("LIMA_GUESTAGENT_TUNNEL", "Set to 0 or false to forward guest TCP ports over SSH only, without the guest agent's tunnel (a virtio-serial port, qemu only).")

// LimaOutputIsTTY is Lima's own switch (same name) for tests of what a terminal sees; pkg/iostreams
// reads it for colour and layout only.
var LimaOutputIsTTY = knob("_LIMA_OUTPUT_IS_TTY", "Tests only: when set to anything, JSON and YAML output is coloured and laid out for a terminal even when stdout is not one.")

// Knobs read by `limactl shell`.
var (
	Term              = knob("TERM", "Terminal type sent with the guest PTY request by `limactl shell`.")
	LimaShellEnvBlock = knob("LIMA_SHELLENV_BLOCK", "Comma-separated env var patterns (`*` suffix = prefix) `limactl shell --preserve-env` does not pass; a leading `+` appends to the default list.")
	LimaShellEnvAllow = knob("LIMA_SHELLENV_ALLOW", "Comma-separated env var patterns `limactl shell --preserve-env` passes even when blocked.")
	LimaShellLogin    = knob("LIMA_SHELL_LOGIN", "Set to 1 or true to make `limactl shell INSTANCE COMMAND` run COMMAND through a real login shell every time instead of the login environment cached in the guest.")
	LimaSSHMux        = knob("LIMA_SSH_MUX", "Set to 0 or false to make `limactl shell` and `limactl copy` dial the guest's SSH port instead of the host agent's shared connection (ssh.mux.sock).")
)

// ProxyVars are the proxy variables that propagateProxyEnv copies from the host into guests
// (pkg/cidata), in both spellings.
var ProxyVars = []Knob{
	knob("http_proxy", "HTTP proxy; copied into guests (propagateProxyEnv), localhost rewritten to the host's guest-side address."),
	knob("https_proxy", "HTTPS proxy; copied into guests like http_proxy."),
	knob("ftp_proxy", "FTP proxy; copied into guests like http_proxy."),
	knob("no_proxy", "Hosts that bypass the proxy; copied into guests as is."),
	knob("HTTP_PROXY", "Uppercase spelling of http_proxy (used when http_proxy is unset)."),
	knob("HTTPS_PROXY", "Uppercase spelling of https_proxy."),
	knob("FTP_PROXY", "Uppercase spelling of ftp_proxy."),
	knob("NO_PROXY", "Uppercase spelling of no_proxy."),
}
