package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"github.com/digitalocean/go-qemu/qmp/raw"

	"github.com/limactl/limactl/pkg/driver"
)

// QMP is a connection to a running QEMU's monitor socket (qmp.sock). QEMU serves one QMP client at a
// time, so hold a connection only for the commands at hand and Close it.
type QMP struct {
	mon *qmp.SocketMonitor
	raw *raw.Monitor
}

// DialQMP connects to the QMP socket at path and completes the capabilities handshake, within ctx.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	mon, err := qmp.NewSocketMonitor("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to QEMU's monitor %s: %w", path, err)
	}
	q := &QMP{mon: mon, raw: raw.NewMonitor(mon)}
	if err := q.do(ctx, mon.Connect); err != nil {
		_ = mon.Disconnect()
		return nil, fmt.Errorf("QMP handshake on %s: %w", path, err)
	}
	return q, nil
}

// Close ends the connection.
func (q *QMP) Close() error { return q.mon.Disconnect() }

// do runs f, giving up (and closing the connection, which unblocks f) when ctx is done first.
func (q *QMP) do(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = q.mon.Disconnect()
		if err := <-done; err != nil {
			return fmt.Errorf("%w (the QMP command ended with: %w)", ctx.Err(), err)
		}
		return ctx.Err()
	}
}

// Powerdown presses the guest's ACPI power button (system_powerdown). It returns at once; the guest
// decides whether and when to power off.
func (q *QMP) Powerdown(ctx context.Context) error {
	return q.do(ctx, q.raw.SystemPowerdown)
}

// Quit makes QEMU exit at once, like pulling the plug.
func (q *QMP) Quit(ctx context.Context) error {
	err := q.do(ctx, q.raw.Quit)
	if isConnGone(err) {
		return nil // QEMU may close the socket before its reply arrives
	}
	return err
}

// Status returns QEMU's run state ("running", "paused", "shutdown", ...).
func (q *QMP) Status(ctx context.Context) (string, error) {
	var st raw.StatusInfo
	err := q.do(ctx, func() (err error) { st, err = q.raw.QueryStatus(); return err })
	if err != nil {
		return "", err
	}
	return st.Status.String(), nil
}

// HMP runs a human-monitor command and returns its output. HMP reports failures as text in a
// successful QMP reply, so output starting with "Error:" is returned as an error.
func (q *QMP) HMP(ctx context.Context, command string) (string, error) {
	var out string
	err := q.do(ctx, func() (err error) { out, err = q.raw.HumanMonitorCommand(command, nil); return err })
	if err != nil {
		return "", fmt.Errorf("QEMU monitor %q: %w", command, err)
	}
	if msg, ok := hmpError(out); ok {
		return out, fmt.Errorf("QEMU monitor %q: %s", command, msg)
	}
	return out, nil
}

// hmpError finds an "Error: ..." line in HMP output.
func hmpError(out string) (string, bool) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "Error:") || strings.HasPrefix(line, "Error ") {
			return line, true
		}
	}
	return "", false
}

// SaveVM saves the running guest (disk and memory) under tag.
func (q *QMP) SaveVM(ctx context.Context, tag string) error {
	_, err := q.HMP(ctx, "savevm "+tag)
	return err
}

// LoadVM restores the snapshot tag into the running guest.
func (q *QMP) LoadVM(ctx context.Context, tag string) error {
	_, err := q.HMP(ctx, "loadvm "+tag)
	return err
}

// DelVM deletes the snapshot tag.
func (q *QMP) DelVM(ctx context.Context, tag string) error {
	_, err := q.HMP(ctx, "delvm "+tag)
	return err
}

// Snapshots lists the snapshots of the running guest's disks (`info snapshots`).
func (q *QMP) Snapshots(ctx context.Context) ([]driver.Snapshot, error) {
	out, err := q.HMP(ctx, "info snapshots")
	if err != nil {
		return nil, err
	}
	return ParseSnapshotList(out), nil
}

// ParseSnapshotList parses the snapshot tables of `info snapshots` and `qemu-img snapshot -l`:
//
//	ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT
//	1         snap1                 0 B 2026-11-27 00:40:00 00:00:00.000          0
//
// Lines that are not table rows (headers, "There is no snapshot available.") are skipped.
func ParseSnapshotList(out string) []driver.Snapshot {
	var list []driver.Snapshot
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[0] == "ID" || !strings.Contains(f[5], ":") {
			continue
		}
		list = append(list, driver.Snapshot{
			ID: f[0], Tag: f[1], VMStateSize: f[2] + " " + f[3], Date: f[4] + " " + f[5], VMClock: f[6],
		})
	}
	return list
}

// isConnGone reports errors that mean the peer closed the connection.
func isConnGone(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "unexpected end of JSON input")
}
