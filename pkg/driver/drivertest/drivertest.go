// Package drivertest is the conformance suite every driver passes: the fake in go test, qemu against a
// real QEMU behind an environment variable, and the plan-only drivers through their fakes. It checks the
// contract written on driver.Driver, nothing implementation-specific.
//
// Usage, in a driver's _test.go:
//
//	func TestConformance(t *testing.T) {
//		drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
//			dir := t.TempDir()
//			// ... put a base image at dir/image, fill a driver.Config ...
//			return New(cfg), drivertest.Harness{Sibling: func() driver.Driver { return New(cfg) }}
//		})
//	}
//
// newDriver is called once per subtest and must return a driver for a fresh instance: an existing
// instance directory holding lima.yaml's base image (Config.BaseImagePath), with Create and CreateDisk
// not yet run.
package drivertest

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
)

// Harness tells the suite what a driver's test setup can do.
type Harness struct {
	// Sibling returns another Driver value for the same instance, as another process (say `limactl
	// list`) would construct it. The suite uses it to check that state lives in the instance directory.
	// Nil skips those checks.
	Sibling func() driver.Driver
	// BaseImage is the path of the base image, so the suite can check CreateDisk without one.
	// Empty skips that check.
	BaseImage string
	// GuestAgent means the guest answers on GuestAgentConn soon after Start (the fake does; a real
	// guest needs a booted OS with the agent). When false, only the not-running error is checked.
	GuestAgent bool
	// SnapshotsWhileRunning means the snapshot methods are exercised on the running instance too.
	SnapshotsWhileRunning bool
	// Timeout bounds each wait for the hypervisor to end after Stop or Kill, and each method call.
	// Zero means 5 minutes. It is a safety net against a hung driver, not an assertion on speed.
	Timeout time.Duration
}

func (h Harness) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 5 * time.Minute
}

// NewDriverFunc returns a driver for a fresh instance; see the package doc.
type NewDriverFunc func(t *testing.T) (driver.Driver, Harness)

// Run runs the conformance suite.
func Run(t *testing.T, newDriver NewDriverFunc) {
	t.Run("Info", func(t *testing.T) { testInfo(t, newDriver) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newDriver) })
	t.Run("StartBeforeCreateDisk", func(t *testing.T) { testStartBeforeCreateDisk(t, newDriver) })
	t.Run("CreateDiskWithoutBaseImage", func(t *testing.T) { testCreateDiskWithoutBase(t, newDriver) })
	t.Run("StoppedErrors", func(t *testing.T) { testStoppedErrors(t, newDriver) })
	t.Run("Snapshots", func(t *testing.T) { testSnapshots(t, newDriver) })
	t.Run("Kill", func(t *testing.T) { testKill(t, newDriver) })
}

func ctxFor(t *testing.T, h Harness) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
	t.Cleanup(cancel)
	return ctx
}

// cleanupStop makes sure a failing test does not leave a hypervisor behind.
func cleanupStop(t *testing.T, d driver.Driver) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Kill(ctx); err != nil {
			t.Logf("cleanup Kill: %v", err)
		}
	})
}

func testInfo(t *testing.T, newDriver NewDriverFunc) {
	d, _ := newDriver(t)
	info := d.Info()
	if info.Name == "" {
		t.Error("Info().Name is empty")
	}
	if info.InstanceDir == "" {
		t.Error("Info().InstanceDir is empty")
	}
	if len(info.Features.SupportedImageFormats) == 0 {
		t.Error("Info().Features.SupportedImageFormats is empty")
	}
	if again := d.Info(); again.Name != info.Name || again.VirtioPort != info.VirtioPort || again.VsockPort != info.VsockPort {
		t.Errorf("Info() is not stable: %+v then %+v", info, again)
	}
}

func requireStatus(t *testing.T, ctx context.Context, d driver.Driver, want driver.Status, what string) {
	t.Helper()
	got, err := d.Status(ctx)
	if err != nil {
		t.Fatalf("%s: Status: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s: Status = %q, want %q", what, got, want)
	}
}

func requireIs(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: error = %v, want one wrapping %q", what, err, kind)
	}
}

// waitEnd waits for the Start channel's single value and its close.
func waitEnd(t *testing.T, h Harness, errCh <-chan error, what string) error {
	t.Helper()
	select {
	case err, ok := <-errCh:
		if !ok {
			t.Fatalf("%s: the Start channel was closed without a value", what)
		}
		select {
		case _, ok := <-errCh:
			if ok {
				t.Fatalf("%s: the Start channel delivered a second value", what)
			}
		case <-time.After(h.timeout()):
			t.Fatalf("%s: the Start channel was not closed after its value", what)
		}
		return err
	case <-time.After(h.timeout()):
		t.Fatalf("%s: the hypervisor did not end within %v", what, h.timeout())
	}
	return nil
}

func testLifecycle(t *testing.T, newDriver NewDriverFunc) {
	d, h := newDriver(t)
	ctx := ctxFor(t, h)
	cleanupStop(t, d)
	siblings := []driver.Driver{d}
	if h.Sibling != nil {
		siblings = append(siblings, h.Sibling())
	}

	if err := d.Validate(ctx); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for i := range 2 {
		if err := d.Create(ctx); err != nil {
			t.Fatalf("Create #%d (must be idempotent): %v", i+1, err)
		}
	}
	requireStatus(t, ctx, d, driver.StatusStopped, "after Create")
	for i := range 2 {
		if err := d.CreateDisk(ctx); err != nil {
			t.Fatalf("CreateDisk #%d (must be idempotent): %v", i+1, err)
		}
	}
	if h.BaseImage != "" {
		if _, err := os.Stat(h.BaseImage); err != nil {
			t.Fatalf("CreateDisk must not consume the base image: %v", err)
		}
	}

	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if errCh == nil {
		t.Fatal("Start returned a nil channel")
	}
	for i, s := range siblings {
		requireStatus(t, ctx, s, driver.StatusRunning, "after Start (driver value "+string(rune('0'+i))+")")
		_, err := s.Start(ctx)
		requireIs(t, err, driver.ErrAlreadyRunning, "second Start")
		requireIs(t, s.Delete(ctx), driver.ErrAlreadyRunning, "Delete while running")
		requireIs(t, s.CreateDisk(ctx), driver.ErrAlreadyRunning, "CreateDisk while running")
	}
	if addr, err := d.SSHAddress(ctx); err != nil || addr == "" {
		t.Errorf("SSHAddress while running = %q, %v; want an address", addr, err)
	}
	if h.GuestAgent {
		conn, err := d.GuestAgentConn(ctx)
		if err != nil {
			t.Errorf("GuestAgentConn while running: %v", err)
		} else {
			conn.Close()
		}
	}
	// The tunnel's channel is a byte stream that needs no guest to connect (the handshake comes
	// later), so a running instance either has one or says it has none.
	if conn, err := d.GuestAgentTunnelConn(ctx); err == nil {
		conn.Close()
	} else if !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("GuestAgentTunnelConn while running: error = %v, want a connection or ErrUnsupported", err)
	}
	if h.SnapshotsWhileRunning && d.Info().Features.SupportsSnapshots {
		snapshotRoundTrip(t, ctx, d, "running")
	}

	// Stop through the sibling when there is one: any Driver value can stop the instance.
	stopper := siblings[len(siblings)-1]
	if err := stopper.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := waitEnd(t, h, errCh, "after Stop"); err != nil {
		t.Errorf("the Start channel delivered %v after Stop, want nil", err)
	}
	for _, s := range siblings {
		requireStatus(t, ctx, s, driver.StatusStopped, "after Stop")
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatalf("Stop when stopped must be a no-op: %v", err)
	}
	_, err = d.GuestAgentConn(ctx)
	if !errors.Is(err, driver.ErrNotRunning) && !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("GuestAgentConn when stopped: error = %v, want ErrNotRunning or ErrUnsupported", err)
	}
	requireTunnelStopped(t, ctx, d, "when stopped")

	// A stopped instance starts again from its kept disk.
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatalf("CreateDisk on an existing disk: %v", err)
	}
	errCh, err = d.Start(ctx)
	if err != nil {
		t.Fatalf("second Start after Stop: %v", err)
	}
	requireStatus(t, ctx, d, driver.StatusRunning, "after restart")
	if err := d.Stop(ctx); err != nil {
		t.Fatalf("Stop after restart: %v", err)
	}
	if err := waitEnd(t, h, errCh, "after second Stop"); err != nil {
		t.Errorf("the Start channel delivered %v after Stop, want nil", err)
	}

	for i := range 2 {
		if err := d.Delete(ctx); err != nil {
			t.Fatalf("Delete #%d (must be idempotent): %v", i+1, err)
		}
	}
	requireStatus(t, ctx, d, driver.StatusStopped, "after Delete")
}

func testStartBeforeCreateDisk(t *testing.T, newDriver NewDriverFunc) {
	d, h := newDriver(t)
	ctx := ctxFor(t, h)
	cleanupStop(t, d)
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	_, err := d.Start(ctx)
	requireIs(t, err, driver.ErrNotFound, "Start before CreateDisk")
	requireStatus(t, ctx, d, driver.StatusStopped, "after a failed Start")
}

func testCreateDiskWithoutBase(t *testing.T, newDriver NewDriverFunc) {
	d, h := newDriver(t)
	if h.BaseImage == "" {
		t.Skip("the harness does not name its base image")
	}
	ctx := ctxFor(t, h)
	if err := os.Remove(h.BaseImage); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	requireIs(t, d.CreateDisk(ctx), driver.ErrNotFound, "CreateDisk without a base image")
}

func testStoppedErrors(t *testing.T, newDriver NewDriverFunc) {
	d, h := newDriver(t)
	ctx := ctxFor(t, h)
	requireStatus(t, ctx, d, driver.StatusStopped, "fresh instance")
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop on a never-started instance: %v", err)
	}
	if err := d.Kill(ctx); err != nil {
		t.Errorf("Kill on a never-started instance: %v", err)
	}
	_, err := d.GuestAgentConn(ctx)
	if !errors.Is(err, driver.ErrNotRunning) && !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("GuestAgentConn on a never-started instance: error = %v, want ErrNotRunning or ErrUnsupported", err)
	}
	requireTunnelStopped(t, ctx, d, "on a never-started instance")
	if err := d.Delete(ctx); err != nil {
		t.Errorf("Delete on a never-started instance: %v", err)
	}
}

// requireTunnelStopped checks GuestAgentTunnelConn on an instance that does not run.
func requireTunnelStopped(t *testing.T, ctx context.Context, d driver.Driver, what string) {
	t.Helper()
	_, err := d.GuestAgentTunnelConn(ctx)
	if !errors.Is(err, driver.ErrNotRunning) && !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("GuestAgentTunnelConn %s: error = %v, want ErrNotRunning or ErrUnsupported", what, err)
	}
}

func testSnapshots(t *testing.T, newDriver NewDriverFunc) {
	d, h := newDriver(t)
	ctx := ctxFor(t, h)
	if !d.Info().Features.SupportsSnapshots {
		requireIs(t, d.CreateSnapshot(ctx, "snap1"), driver.ErrUnsupported, "CreateSnapshot without snapshot support")
		_, err := d.ListSnapshots(ctx)
		requireIs(t, err, driver.ErrUnsupported, "ListSnapshots without snapshot support")
		return
	}
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatalf("CreateDisk: %v", err)
	}
	snapshotRoundTrip(t, ctx, d, "stopped")
}

func snapshotRoundTrip(t *testing.T, ctx context.Context, d driver.Driver, state string) {
	t.Helper()
	tags := func() []string {
		t.Helper()
		list, err := d.ListSnapshots(ctx)
		if err != nil {
			t.Fatalf("%s: ListSnapshots: %v", state, err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Tag)
		}
		return out
	}
	if got := tags(); len(got) != 0 {
		t.Fatalf("%s: ListSnapshots on a fresh disk = %v, want none", state, got)
	}
	requireIs(t, d.ApplySnapshot(ctx, "nosuch"), driver.ErrNotFound, state+": ApplySnapshot of an unknown tag")
	requireIs(t, d.DeleteSnapshot(ctx, "nosuch"), driver.ErrNotFound, state+": DeleteSnapshot of an unknown tag")
	for _, tag := range []string{"snap1", "snap2"} {
		if err := d.CreateSnapshot(ctx, tag); err != nil {
			t.Fatalf("%s: CreateSnapshot(%q): %v", state, tag, err)
		}
	}
	requireIs(t, d.CreateSnapshot(ctx, "snap1"), driver.ErrAlreadyExists, state+": CreateSnapshot of a taken tag")
	if got := tags(); !slices.Equal(got, []string{"snap1", "snap2"}) {
		t.Fatalf("%s: ListSnapshots = %v, want [snap1 snap2]", state, got)
	}
	if err := d.ApplySnapshot(ctx, "snap1"); err != nil {
		t.Fatalf("%s: ApplySnapshot: %v", state, err)
	}
	for _, tag := range []string{"snap1", "snap2"} {
		if err := d.DeleteSnapshot(ctx, tag); err != nil {
			t.Fatalf("%s: DeleteSnapshot(%q): %v", state, tag, err)
		}
	}
	requireIs(t, d.DeleteSnapshot(ctx, "snap1"), driver.ErrNotFound, state+": DeleteSnapshot twice")
	if got := tags(); len(got) != 0 {
		t.Fatalf("%s: ListSnapshots after deleting all = %v, want none", state, got)
	}
}

func testKill(t *testing.T, newDriver NewDriverFunc) {
	d, h := newDriver(t)
	ctx := ctxFor(t, h)
	cleanupStop(t, d)
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatalf("CreateDisk: %v", err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	killer := d
	if h.Sibling != nil {
		killer = h.Sibling()
	}
	if err := killer.Kill(ctx); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := waitEnd(t, h, errCh, "after Kill"); err != nil {
		t.Errorf("the Start channel delivered %v after Kill, want nil", err)
	}
	requireStatus(t, ctx, d, driver.StatusStopped, "after Kill")
	if err := d.Kill(ctx); err != nil {
		t.Errorf("Kill when stopped must be a no-op: %v", err)
	}
}
