package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/driver"
)

func TestParseSnapshotList(t *testing.T) {
	out := "Snapshot list:\n" +
		"ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n" +
		"1         snap1                 0 B 2026-11-27 00:40:00 00:00:00.000          0\n" +
		"2         before-upgrade     284 MiB 2026-11-27 00:41:10 00:01:02.500\n"
	want := []driver.Snapshot{
		{ID: "1", Tag: "snap1", VMStateSize: "0 B", Date: "2026-11-27 00:40:00", VMClock: "00:00:00.000"},
		{ID: "2", Tag: "before-upgrade", VMStateSize: "284 MiB", Date: "2026-11-27 00:41:10", VMClock: "00:01:02.500"},
	}
	if diff := cmp.Diff(want, ParseSnapshotList(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := ParseSnapshotList("There is no snapshot available.\n"); len(got) != 0 {
		t.Errorf("no snapshots parsed as %v", got)
	}
}

// startQEMUNone runs a QEMU with no machine and one qcow2 drive: enough for QMP and HMP snapshots,
// without booting anything.
func startQEMUNone(t *testing.T) (sock string, cmd *exec.Cmd) {
	t.Helper()
	bin := needQEMU(t)
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", disk, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	sock = filepath.Join(dir, "qmp.sock")
	cmd = exec.Command(bin, "-machine", "none", "-nodefaults", "-display", "none",
		"-drive", "file="+disk+",if=none,format=qcow2,id=d0",
		"-chardev", "socket,id=char-qmp,path="+sock+",server=on,wait=off", "-qmp", "chardev:char-qmp")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitForSocket(ctx, sock, nil); err != nil {
		t.Fatal(err)
	}
	return sock, cmd
}

func TestQMPAgainstQEMU(t *testing.T) {
	sock, cmd := startQEMUNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := DialQMP(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()

	if st, err := q.Status(ctx); err != nil || st == "" {
		t.Fatalf("Status = %q, %v", st, err)
	}
	if err := q.SaveVM(ctx, "snap1"); err != nil {
		t.Fatalf("SaveVM: %v", err)
	}
	list, err := q.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list, func(s driver.Snapshot) bool { return s.Tag == "snap1" }) {
		t.Fatalf("Snapshots = %+v, want snap1", list)
	}
	if err := q.LoadVM(ctx, "snap1"); err != nil {
		t.Fatalf("LoadVM: %v", err)
	}
	// HMP reports failures inside a successful reply; they must come back as errors.
	if err := q.LoadVM(ctx, "nosuch"); err == nil || !strings.Contains(err.Error(), "Error") {
		t.Fatalf("LoadVM(nosuch) error = %v, want the monitor's Error text", err)
	}
	if err := q.DelVM(ctx, "snap1"); err != nil {
		t.Fatalf("DelVM: %v", err)
	}
	if list, _ := q.Snapshots(ctx); len(list) != 0 {
		t.Fatalf("Snapshots after DelVM = %+v", list)
	}
	if err := q.Quit(ctx); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("QEMU after Quit: %v", err)
	}
}
