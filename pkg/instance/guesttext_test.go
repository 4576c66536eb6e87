package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/store"
)

// TestGuestTextReachesTerminalPrintable: what `limactl start` prints of the guest (cloud-init
// progress lines, warnings in the running event, host-agent log lines it relays, the console tail)
// carries no control characters, and a long console line is cut. On the previous code the
// cloud-init line, the warnings and the relayed lines went out verbatim.
func TestGuestTextReachesTerminalPrintable(t *testing.T) {
	hook := logtest.NewGlobal()
	defer hook.Reset()
	inst := &store.Instance{Name: "vm", Dir: t.TempDir()}
	w := &startWatch{}
	_ = w.handle(inst, events.Event{Status: events.Status{CloudInitProgress: &events.CloudInitProgress{LogLine: "\x1b[2J\x1b]0;pwned\x07apt-get install\r"}}})
	_ = w.handle(inst, events.Event{Status: events.Status{Running: true, Errors: []string{"boot script failed: \x1b[31mred\x9b"}}})
	relayLogLine(`{"level":"warning","msg":"guest agent: \u001b[6n","error":"\u0007bell"}`)
	var all []string
	for _, e := range hook.AllEntries() {
		all = append(all, e.Message)
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"[cloud-init] [2J]0;pwnedapt-get install", "boot script failed: [31mred", "[hostagent] guest agent: [6n: bell"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log lacks %q:\n%q", want, joined)
		}
	}
	if strings.ContainsAny(joined, "\x1b\x07\r\u009b") {
		t.Errorf("control characters reach the terminal:\n%q", joined)
	}

	// The console tail reads the end of a large serial.log, and cuts each line.
	p := filepath.Join(inst.Dir, "serial.log")
	big := strings.Repeat("early line\n", 200_000) + strings.Repeat("w", 5000) + "\nthe last line\x1b[K\n"
	if err := os.WriteFile(p, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	tail := fileTail(p, 2)
	if !strings.HasSuffix(tail, "the last line[K") || strings.Contains(tail, strings.Repeat("w", 600)) || strings.ContainsRune(tail, 0x1b) {
		t.Errorf("fileTail = %q", tail)
	}
}
