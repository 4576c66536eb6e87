package cidata

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseConsoleLine(t *testing.T) {
	for line, want := range map[string]*ConsoleEvent{
		"LIMA| boot-done iid-0123456789abcdef\r\n":            {Event: EventBootDone, IID: "iid-0123456789abcdef", Args: []string{}},
		"[   12.3] foo LIMA| ssh-ready iid-0123456789abcdef":  {Event: EventSSHReady, IID: "iid-0123456789abcdef", Args: []string{}},
		"LIMA| script-failed iid-1 boot.Linux/10-mounts.sh 1": {Event: EventScriptFailed, IID: "iid-1", Args: []string{"boot.Linux/10-mounts.sh", "1"}},
		"LIMA| script-failed  provision.boot/00000002 3":      {Event: EventScriptFailed, Args: []string{"provision.boot/00000002", "3"}},
		"LIMA| provision system 00000004":                     {Event: EventProvision, Args: []string{"system", "00000004"}},
		"LIMA: boot-done iid-1":                               nil,
		"cloud-init[123]: LIMA|":                              nil,
		"Debian GNU/Linux 12 lima-default ttyS0":              nil,
	} {
		got, ok := ParseConsoleLine(line)
		if want == nil {
			if ok {
				t.Errorf("ParseConsoleLine(%q) = %+v, want no event", line, got)
			}
			continue
		}
		if !ok {
			t.Errorf("ParseConsoleLine(%q): no event", line)
			continue
		}
		if d := cmp.Diff(*want, got); d != "" {
			t.Errorf("ParseConsoleLine(%q) (-want +got):\n%s", line, d)
		}
	}
}
