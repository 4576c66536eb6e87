package instance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/hostagent"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
	"github.com/limactl/limactl/pkg/textutil"
)

// DefaultStartTimeout is how long `limactl start` waits for the guest to be ready.
const DefaultStartTimeout = 10 * time.Minute

// StallAfter is how long a start-up step may make no progress before Start shows which step waits
// and the last lines of the guest's console. It is a report, not a timeout.
var StallAfter = 20 * time.Second

// SilentConsoleAfter is how long an empty serial console is tolerated before Start says so.
var SilentConsoleAfter = 60 * time.Second

// StartOptions configure Start.
type StartOptions struct {
	// Timeout bounds the wait for READY; DefaultStartTimeout when zero.
	Timeout time.Duration
	// Foreground runs the host agent in this process (`limactl start --foreground`): Start returns
	// only when the guest has stopped.
	Foreground bool
	// Executable is the limactl binary that runs `hostagent`; os.Executable() when empty.
	Executable string
	// Debug passes --debug to the host agent.
	Debug bool
	// Progress passes --progress to the host agent, which then reports the guest's cloud-init
	// output; Start prints each line until READY.
	Progress bool
	// ProgressBar draws a progress bar for image downloads on stderr (a terminal, without --tty=false).
	ProgressBar bool
}

// Start boots the instance name and waits until it is ready, printing progress with logrus. An
// instance that is already running is left alone (nil). Two concurrent Starts of one instance:
// exactly one boots it, the other fails at once naming the first one's pid. On a timeout, a
// cancelled ctx, SIGINT or SIGTERM, the host agent and the hypervisor are stopped (killed if they
// do not stop) and the instance is left Stopped.
func Start(ctx context.Context, name string, opts StartOptions) error {
	inst, err := store.Inspect(ctx, name)
	if err != nil {
		return err
	}
	unlock, err := lockForStart(inst)
	if err != nil {
		return err
	}
	defer func() { _ = unlock() }()
	// Re-read under the lock: another start may just have finished.
	if inst, err = store.Inspect(ctx, name); err != nil {
		return err
	}
	switch inst.Status {
	case store.StatusRunning:
		if first, last := hostAgentEvents(inst); !opts.Foreground && !first.IsZero() && !last.Running && !last.Exiting {
			return followStart(ctx, inst, first, opts)
		}
		logrus.Infof("The instance %#q is already running. Run `limactl shell %s` to open the shell.", name, name)
		return nil
	case store.StatusBroken:
		if inst.ConfigMissing() { // the error says what to do: it may be a clone in progress
			return fmt.Errorf("instance %#q is broken: %w", name, errors.Join(inst.Errors...))
		}
		if inst.Config == nil {
			return fmt.Errorf("instance %#q is broken: %w; delete it with `limactl delete -f %s`", name, errors.Join(inst.Errors...), name)
		}
		if inst.HostAgentPID != 0 || inst.DriverPID != 0 {
			logrus.Warnf("Instance %#q is broken (%v); cleaning up its leftover processes first", name, errors.Join(inst.Errors...))
			if err := StopForcibly(ctx, inst); err != nil {
				return err
			}
		}
	}
	// A signal while preparing (typically during an image download) ends the download cleanly;
	// the cache keeps the partial file and the next start resumes it.
	pctx, stopPrepSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	err = Prepare(pctx, inst, PrepareOptions{ProgressBar: opts.ProgressBar})
	interrupted := pctx.Err() != nil && ctx.Err() == nil // read before stop, which cancels pctx
	stopPrepSignals()
	if err != nil {
		if interrupted {
			return fmt.Errorf("start of instance %#q interrupted while preparing it; run `limactl start %s` again to resume: %w", name, name, err)
		}
		return fmt.Errorf("cannot prepare instance %#q: %w", name, err)
	}
	if opts.Foreground {
		_ = unlock()
		return runForeground(ctx, inst)
	}

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	begin := time.Now()
	ha, err := spawnHostAgent(inst, opts)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = watchStart(wctx, inst, begin, ha)
	if err == nil {
		return nil
	}
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("start of instance %#q interrupted", name)
	case wctx.Err() != nil:
		err = fmt.Errorf("instance %#q did not become ready within --timeout=%s: %w", name, timeout, err)
	}
	logrus.Warnf("Start of %#q failed; stopping the instance (the reason follows)", name)
	if serr := abortStart(inst, ha); serr != nil {
		logrus.WithError(serr).Warn("cleaning up after the failed start")
	}
	return err
}

// hostAgentEvents returns when the running host agent wrote its first event and its latest status,
// zero values when it has written none or the events are not this host agent's (older than its pid
// file: a foreground host agent, or one that died before writing). It reads the first line and the
// last 64 KiB only: with --progress a guest can make the file large.
func hostAgentEvents(inst *store.Instance) (first time.Time, last events.Status) {
	f, err := os.Open(filepath.Join(inst.Dir, filenames.HostAgentStdout))
	if err != nil {
		return time.Time{}, events.Status{}
	}
	defer f.Close()
	var ev events.Event
	line, _ := bufio.NewReader(io.LimitReader(f, 64<<10)).ReadBytes('\n')
	if json.Unmarshal(line, &ev) != nil || ev.Time.IsZero() {
		return time.Time{}, events.Status{}
	}
	first = ev.Time
	if st, err := os.Stat(filepath.Join(inst.Dir, filenames.HostAgentPID)); err == nil && first.Before(st.ModTime().Add(-2*time.Second)) {
		return time.Time{}, events.Status{}
	}
	st, err := f.Stat()
	if err != nil {
		return time.Time{}, events.Status{}
	}
	off := max(st.Size()-64<<10, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return time.Time{}, events.Status{}
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	ev = events.Event{}
	if json.Unmarshal(lines[len(lines)-1], &ev) != nil {
		return time.Time{}, events.Status{}
	}
	return first, ev.Status
}

// followStart waits for the start-up of an instance whose host agent runs but has not reported READY:
// the `limactl start` that spawned it was killed, or gave up waiting. It follows the host agent's
// events as Start does, and leaves the instance running whatever happens: it did not start it.
func followStart(ctx context.Context, inst *store.Instance, begin time.Time, opts StartOptions) error {
	logrus.Infof("The instance %#q is starting (host agent pid %d); waiting for it to be ready", inst.Name, inst.HostAgentPID)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	proc, err := os.FindProcess(inst.HostAgentPID) // never signalled: only followed
	if err != nil {
		return err
	}
	ha := &hostAgentProc{proc: proc, pid: inst.HostAgentPID, exited: make(chan struct{})}
	go func() {
		for osutil.ProcessAlive(ha.pid) && wctx.Err() == nil {
			time.Sleep(500 * time.Millisecond)
		}
		if wctx.Err() == nil {
			close(ha.exited)
		}
	}()
	err = watchStart(wctx, inst, begin, ha)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("stopped waiting for instance %#q; it goes on starting", inst.Name)
	case wctx.Err() != nil:
		return fmt.Errorf("instance %#q did not become ready within --timeout=%s (it is left running; `limactl stop %s` stops it): %w", inst.Name, timeout, inst.Name, err)
	}
	return err
}

// lockForStart takes the instance lock without waiting and records our pid in it, so a concurrent
// start can say who holds it.
func lockForStart(inst *store.Instance) (func() error, error) {
	path := filepath.Join(inst.Dir, filenames.InstanceLock)
	unlock, err := lockutil.TryLock(path)
	if errors.Is(err, lockutil.ErrLocked) {
		return nil, fmt.Errorf("instance %#q is being started by %s; wait for it, or run `limactl stop %s`", inst.Name, lockHolder(path), inst.Name)
	}
	if err != nil {
		return nil, err
	}
	_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return unlock, nil
}

// lockHolder names the process holding the instance lock at path: the pid lockForStart recorded
// when that process is alive and not known to have started after the pid was written (a pid reused
// after a reboot; see osutil.CheckIdentity), else "another process". The pid is only named, never
// signalled.
func lockHolder(path string) string {
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && osutil.ProcessAlive(pid) {
			// Any command line: the lock is taken by `limactl start NAME`, which need not name the
			// instance directory.
			if st, err := os.Stat(path); err == nil {
				if id, _ := osutil.CheckIdentity(pid, st.ModTime(), nil); id != osutil.IdentityMismatch {
					return fmt.Sprintf("another process (pid %d)", pid)
				}
			}
		}
	}
	return "another process"
}

// hostAgentProc is a spawned host agent.
type hostAgentProc struct {
	proc   *os.Process // signals go through it: once the host agent is reaped they fail, never reaching a process that reused the pid
	pid    int
	exited chan struct{}
	err    error // valid after exited is closed
}

// spawnHostAgent starts `limactl hostagent NAME` in its own session with its output in
// ha.stdout.log (events) and ha.stderr.log (logs), both truncated first.
func spawnHostAgent(inst *store.Instance, opts StartOptions) (*hostAgentProc, error) {
	if pid, err := store.ReadPIDFile(filepath.Join(inst.Dir, filenames.HostAgentPID)); err != nil {
		return nil, err
	} else if pid != 0 {
		return nil, fmt.Errorf("instance %#q: a host agent (pid %d) seems to be running; run `limactl stop -f %s`", inst.Name, pid, inst.Name)
	}
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	stdout, err := os.OpenFile(filepath.Join(inst.Dir, filenames.HostAgentStdout), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(inst.Dir, filenames.HostAgentStderr), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	args := []string{"hostagent",
		"--pidfile", filepath.Join(inst.Dir, filenames.HostAgentPID),
		"--socket", filepath.Join(inst.Dir, filenames.HostAgentSock)}
	if opts.Debug {
		args = append([]string{"--debug"}, args...)
	}
	if opts.Progress {
		args = append(args, "--progress")
	}
	cmd := exec.Command(exe, append(args, inst.Name)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Dir = inst.Dir
	cmd.SysProcAttr = osutil.SysProcAttrDetached() // no terminal signal reaches it; it outlives `limactl start`
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start the host agent: %w", err)
	}
	p := &hostAgentProc{proc: cmd.Process, pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// runForeground runs the host agent in this process, with its events in ha.stdout.log.
func runForeground(ctx context.Context, inst *store.Instance) error {
	f, err := os.OpenFile(filepath.Join(inst.Dir, filenames.HostAgentStdout), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	logrus.Infof("Running the host agent of %#q in the foreground; press Ctrl-C to stop the instance", inst.Name)
	return hostagent.Run(ctx, inst.Name, hostagent.Options{Events: f})
}

// abortStart stops a host agent whose start failed: SIGINT (it stops the guest), a bounded wait,
// then SIGKILL for the host agent and the hypervisor, and removal of stale pid and socket files.
func abortStart(inst *store.Instance, ha *hostAgentProc) error {
	if err := ha.proc.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = ha.proc.Kill() // Windows cannot interrupt another process
	}
	select {
	case <-ha.exited:
	case <-time.After(abortWait):
		logrus.Warnf("the host agent (pid %d) did not stop within %s; killing it and the guest", ha.pid, abortWait)
	}
	cur, err := store.Inspect(context.Background(), inst.Name)
	if err != nil {
		return err
	}
	if cur.HostAgentPID != 0 || cur.DriverPID != 0 {
		return StopForcibly(context.Background(), cur)
	}
	return nil
}

// abortWait bounds the graceful part of abortStart. A guest still booting may ignore the ACPI power
// button for minutes; it has not become ready, so it is killed rather than waited for.
var abortWait = 30 * time.Second

// startWatch is the state of watchStart.
type startWatch struct {
	mu        sync.Mutex
	step      *events.Progress
	accel     string    // the accelerator the host agent reports
	reported  time.Time // when the current stall was last shown
	sshPort   bool
	stderrOff int64
}

// watchStart follows the host agent's events from begin and prints progress until the guest is
// ready (nil), the host agent gives up or exits, or ctx ends.
func watchStart(ctx context.Context, inst *store.Instance, begin time.Time, ha *hostAgentProc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &startWatch{}
	exitErrCh := make(chan error, 1)
	go func() {
		select {
		case <-ha.exited:
			// Let Watch read the last events (the exiting one says why) before giving up.
			time.Sleep(300 * time.Millisecond)
			tail := fileTail(filepath.Join(inst.Dir, filenames.HostAgentStderr), 5)
			if ha.err == nil {
				exitErrCh <- fmt.Errorf("the host agent exited%s", tail)
			} else {
				exitErrCh <- fmt.Errorf("the host agent exited (%w)%s", ha.err, tail)
			}
			cancel()
		case <-ctx.Done():
		}
	}()
	go w.report(ctx, inst, begin)
	err := events.Watch(ctx, filepath.Join(inst.Dir, filenames.HostAgentStdout), begin, func(ev events.Event) error {
		return w.handle(inst, ev)
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return err // the host agent reported why it is exiting
	}
	select {
	case exitErr := <-exitErrCh:
		return exitErr
	default:
	}
	if ctx.Err() != nil {
		return w.stuck(inst)
	}
	return err
}

// stuck says why a start that ran out of time is stuck: the step it waits for, the accelerator, the
// guest's last console lines (or that it printed nothing), and what to try.
func (w *startWatch) stuck(inst *store.Instance) error {
	w.mu.Lock()
	step, accel := w.step, w.accel
	w.mu.Unlock()
	var b strings.Builder
	if step != nil {
		fmt.Fprintf(&b, "still at step %q (%s), for %s", step.Step, step.Description, time.Since(step.Since).Round(time.Second))
	} else {
		b.WriteString("the host agent reported no start-up step")
	}
	if accel != "" {
		fmt.Fprintf(&b, ", under %s", accel)
	} else {
		fmt.Fprintf(&b, ", vmType %s", inst.VMType)
	}
	serial := filepath.Join(inst.Dir, filenames.SerialLog)
	tail := consoleTail(inst, 10)
	if tail == "" {
		fmt.Fprintf(&b, "; the guest printed nothing on its serial console (%s)", serial)
	} else {
		b.WriteString(tail)
	}
	b.WriteString("\nWhat to try: ")
	var try []string
	switch {
	case accel == "tcg":
		try = append(try, "TCG emulates every instruction and is slow: a longer --timeout may be all it needs")
	case accel != "":
		try = append(try, fmt.Sprintf("if the guest hangs under %s on this host, `%s=tcg limactl start %s` runs it emulated", accel, envknob.LimaQEMUAccel.Name, inst.Name))
	}
	if tail == "" {
		try = append(try, "a guest with no console output is stuck in its firmware or boot loader, or its kernel has no console=ttyS0")
	}
	try = append(try, "`limactl start --debug "+inst.Name+"`",
		"the host agent's log "+filepath.Join(inst.Dir, filenames.HostAgentStderr))
	b.WriteString(strings.Join(try, "; "))
	return errors.New(b.String())
}

func (w *startWatch) handle(inst *store.Instance, ev events.Event) error {
	st := ev.Status
	w.mu.Lock()
	defer w.mu.Unlock()
	if st.SSHLocalPort != 0 && !w.sshPort {
		w.sshPort = true
		logrus.Infof("SSH Local Port: %d", st.SSHLocalPort)
	}
	if st.Accelerator != "" {
		w.accel = st.Accelerator
	}
	if p := st.Progress; p != nil && !p.Done && (w.step == nil || w.step.Step != p.Step) {
		w.step = p
		w.reported = time.Time{}
		logrus.Infof("[hostagent] %s (%s)", p.Description, p.Step)
	}
	if p := st.CloudInitProgress; p != nil && p.LogLine != "" {
		logrus.Info("[cloud-init] " + textutil.Printable(p.LogLine)) // only sent with --progress
	}
	if st.Exiting {
		return fmt.Errorf("the host agent is exiting: %s", textutil.Printable(strings.Join(st.Errors, "; ")))
	}
	if st.Running {
		for _, e := range st.Errors {
			logrus.Warn(textutil.Printable(e)) // they may quote the guest
		}
		if st.Degraded {
			logrus.Warn("DEGRADED. The instance runs, but a start-up step did not complete (see above)")
		}
		logrus.Infof("READY. Run `limactl shell %s` to open the shell.", inst.Name)
		if inst.Message != "" {
			logrus.Info(fmt.Sprintf("Message from the instance %#q:\n", inst.Name) + inst.Message)
		}
		return events.ErrStop
	}
	return nil
}

// report shows, while the start waits, the host agent's warnings, a step that has stalled, and a
// silent console.
func (w *startWatch) report(ctx context.Context, inst *store.Instance, begin time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	silentShown := false
	var (
		consoleSize int64
		lastOutput  time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.relayWarnings(inst)
		if !silentShown && time.Since(begin) > SilentConsoleAfter {
			if st, err := os.Stat(filepath.Join(inst.Dir, filenames.SerialLog)); err == nil && st.Size() == 0 {
				silentShown = true
				logrus.Warnf("The guest has printed nothing on its serial console (%s) in %s: it may be stuck before its kernel (firmware, boot loader, kernel command line without console=ttyS0)",
					filepath.Join(inst.Dir, filenames.SerialLog), SilentConsoleAfter)
			}
		}
		// Progress is a new step or new output on the guest's console.
		if st, err := os.Stat(filepath.Join(inst.Dir, filenames.SerialLog)); err == nil && st.Size() != consoleSize {
			consoleSize, lastOutput = st.Size(), time.Now()
		}
		w.mu.Lock()
		step, reported := w.step, w.reported
		w.mu.Unlock()
		if step == nil || consoleSize == 0 {
			continue // an empty console is reported once, after SilentConsoleAfter
		}
		idleSince := step.Since
		if lastOutput.After(idleSince) {
			idleSince = lastOutput
		}
		if reported.After(idleSince) {
			idleSince = reported
		}
		if time.Since(idleSince) < StallAfter {
			continue
		}
		w.mu.Lock()
		w.reported = time.Now()
		w.mu.Unlock()
		logrus.Warnf("No progress for %s: %s (%s), waiting for %s%s", time.Since(idleSince).Round(time.Second), step.Description, step.Step,
			time.Since(step.Since).Round(time.Second), consoleTail(inst, 10))
	}
}

// relayWarnings re-logs the host agent's new warning and error lines from ha.stderr.log.
func (w *startWatch) relayWarnings(inst *store.Instance) {
	f, err := os.Open(filepath.Join(inst.Dir, filenames.HostAgentStderr))
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(w.stderrOff, 0); err != nil {
		return
	}
	buf := make([]byte, 64*1024)
	n, _ := f.Read(buf)
	data := buf[:n]
	end := strings.LastIndexByte(string(data), '\n')
	if end < 0 {
		return
	}
	w.stderrOff += int64(end + 1)
	for _, line := range strings.Split(string(data[:end]), "\n") {
		relayLogLine(line)
	}
}

// consoleTail formats the last n lines of the guest's serial console for an error message.
func consoleTail(inst *store.Instance, n int) string {
	return fileTail(filepath.Join(inst.Dir, filenames.SerialLog), n)
}

// fileTail formats the last n non-empty lines of path, or "" when there are none. It reads the
// last 64 KiB only; the guest's lines are made printable and cut to 512 bytes.
func fileTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-64<<10, 0)
	b := make([]byte, st.Size()-off)
	got, err := f.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	b = b[:got]
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = textutil.Line(l, 512); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "; the last lines of " + path + ":\n  " + strings.Join(lines, "\n  ")
}
