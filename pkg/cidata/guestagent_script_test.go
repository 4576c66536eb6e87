//go:build linux

package cidata

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// guestAgentSandbox runs boot.Linux/25-guestagent.sh once per boot listed in $BOOTS (each a
// digest, "-" for none, with the agent's content in $T/agent.<digest>) in a private mount
// namespace: /etc a copy, /run a tmpfs marked as systemd's, /var/lib a tmpfs; systemctl and cmp
// log their calls to $T/out.<n>/calls.
const guestAgentSandbox = `set -eu
cp -a /etc "$T/etc"
mount --bind "$T/etc" /etc
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system
mount -t tmpfs tmpfs /var/lib
n=0
for d in $BOOTS; do
	n=$((n + 1))
	mkdir -p "$T/out.$n"
	case "$d" in
	*!) # another tool installs its own agent at the same path, after the record
		d=${d%!}
		printf 'foreign\n' >"$T/prefix/bin/lima-guestagent"
		touch -d "@$(($(date +%s) + 2))" "$T/prefix/bin/lima-guestagent" ;;
	*#) # the record cannot be written
		d=${d%#}
		rm -rf /var/lib/lima
		: >/var/lib/lima ;;
	esac
	cp "$T/agent.$d" "$T/cidata/lima-guestagent"
	digest=$d
	[ "$d" != - ] || digest=
	CALLS="$T/out.$n/calls" LIMA_CIDATA_GUESTAGENT_SHA256=$digest PATH="$T/fakebin:$PATH" \
		sh "$T/cidata/boot.Linux/25-guestagent.sh" >"$T/out.$n/log" 2>&1
done
`

// TestGuestAgentScript: the agent is installed when it changed, and an agent whose digest the
// last boot recorded is not read again; an agent installed without a digest drops the record.
func TestGuestAgentScript(t *testing.T) {
	T, unshare := scriptSandbox(t, "boot.Linux/25-guestagent.sh")
	writeTestFile(t, filepath.Join(T, "fakebin", "systemctl"), "#!/bin/sh\necho \"systemctl $*\" >>\"$CALLS\"\n", 0o755)
	writeTestFile(t, filepath.Join(T, "fakebin", "cmp"), "#!/bin/sh\ncase \"$2\" in */lima-guestagent) echo cmp >>\"$CALLS\" ;; esac\nexec /usr/bin/cmp \"$@\"\n", 0o755)
	for d, content := range map[string]string{"aaa": "agent one", "bbb": "agent two", "-": "agent three"} {
		writeTestFile(t, filepath.Join(T, "agent."+d), content, 0o755)
	}
	cmd := exec.Command(unshare, "-m", "sh", "-c", guestAgentSandbox)
	cmd.Env = append(os.Environ(), "T="+T, "BOOTS=aaa aaa bbb bbb - bbb bbb! bbb aaa#",
		"LIMA_CIDATA_MNT="+T+"/cidata", "LIMA_CIDATA_GUEST_INSTALL_PREFIX="+T+"/prefix",
		"LIMA_CIDATA_VIRTIO_PORT=io.lima-vm.guest_agent.0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	start := "systemctl start lima-guestagent.service"
	install := "cmp\nsystemctl --no-reload enable lima-guestagent.service\nsystemctl restart lima-guestagent.service"
	for i, want := range []string{
		install, // first boot
		start,   // same agent: not read
		install, // a new agent
		start,   // same again
		install, // a host that sends no digest: compared, changed, the record dropped
		install, // so the next agent is compared too
		install, // a foreign agent newer than the record: compared, replaced
		start,   // recorded again
		install, // the record cannot be written: installed and started all the same
	} {
		n := strconv.Itoa(i + 1)
		if got := readOut(t, T, "out."+n+"/calls"); got != want {
			t.Errorf("boot %s: calls\n%s\nwant\n%s\nlog: %s", n, got, want, readOut(t, T, "out."+n+"/log"))
		}
	}
	if got, err := os.ReadFile(filepath.Join(T, "prefix", "bin", "lima-guestagent")); err != nil || string(got) != "agent one" {
		t.Errorf("installed agent %q, %v; want the last one", got, err)
	}
	if log := readOut(t, T, "out.9/log"); !strings.Contains(log, "cannot record the guest agent's digest") {
		t.Errorf("boot 9 did not warn about the record: %q", log)
	}
}
