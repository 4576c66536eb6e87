package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
	"github.com/limactl/limactl/pkg/textutil"
)

// WatchOptions are the inputs of `limactl watch`.
type WatchOptions struct {
	IO      *iostreams.IOStreams
	Names   []string
	JSON    bool
	History bool
	Verbose bool
	// Rescan is how often $LIMA_HOME is listed for new instances when no instance is named.
	Rescan time.Duration
}

func newWatchCommand(ios *iostreams.IOStreams, runF func(*WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: ios, Rescan: time.Second}
	cmd := &cobra.Command{
		Use:   "watch [INSTANCE]...",
		Short: "Watch events from instances",
		Long: `Watch the events of Lima instances as their host agents report them: start-up steps,
SSH becoming available, running (or degraded) and exiting, errors, and port forwards.

Without INSTANCE, every instance is watched, and instances created while watching are picked up.
A restarted instance is followed into its new run. Watching goes on until interrupted (Ctrl+C).`,
		Example: `  # Watch events from all instances:
  $ limactl watch

  # Watch events from a specific instance:
  $ limactl watch default

  # Include the events from before the watch started:
  $ limactl watch --history default

  # Also show the host agents' log messages:
  $ limactl watch --verbose

  # Newline-delimited JSON, for scripts:
  $ limactl watch --json default`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWatch(ctx, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Output events as newline-delimited JSON")
	cmd.Flags().BoolVar(&opts.History, "history", false, "Include historical events from before watch started")
	cmd.Flags().BoolVar(&opts.Verbose, "verbose", false, "Show verbose output")
	return cmd
}

// watchEvent is one line of `limactl watch --json`: Lima's shape, the event wrapped with its instance.
type watchEvent struct {
	Instance string       `json:"instance"`
	Event    events.Event `json:"event"`
}

// runWatch follows the named instances (all, and new ones, when none is named) until ctx ends, which
// is a normal end (exit status 0).
func runWatch(ctx context.Context, opts *WatchOptions) error {
	if !opts.Verbose && logrus.GetLevel() == logrus.InfoLevel {
		logrus.SetLevel(logrus.WarnLevel)
	}
	var begin time.Time
	if !opts.History {
		begin = time.Now()
	}
	stderr := opts.IO.ErrOut
	watchAll := len(opts.Names) == 0
	names := opts.Names
	if watchAll {
		var err error
		if names, err = store.Instances(); err != nil {
			return err
		}
		if len(names) == 0 {
			watchStatus(stderr, "No instances found")
		}
	}

	w := &instanceWatcher{ctx: ctx, begin: begin, verbose: opts.Verbose, events: make(chan watchEvent, 64)}
	for _, name := range names {
		w.start(name)
	}
	var found <-chan string
	if watchAll {
		found = newInstances(ctx, names, opts.Rescan)
	}
	watchStatus(stderr, "Watching for events...")

	p := &eventPrinter{out: opts.IO.Out, prev: map[string]events.Status{}}
	for {
		select {
		case <-ctx.Done():
			return nil
		case name := <-found:
			watchStatus(stderr, "New instance detected: "+name)
			w.start(name)
		case ev := <-w.events:
			if opts.JSON {
				b, err := json.Marshal(ev)
				if err != nil {
					fmt.Fprintf(stderr, "error marshaling event: %v\n", err)
					continue
				}
				fmt.Fprintln(opts.IO.Out, string(b))
				continue
			}
			p.print(ev)
		}
	}
}

// watchStatus writes one of watch's own status lines to stderr, time first, as Lima does.
func watchStatus(w io.Writer, msg string) {
	fmt.Fprintf(w, "%s %s\n", time.Now().Format(time.DateTime), msg)
}

// instanceWatcher runs one follower per instance, each sending to events.
type instanceWatcher struct {
	ctx      context.Context
	begin    time.Time
	verbose  bool
	events   chan watchEvent
	watching sync.Map
}

func (w *instanceWatcher) start(name string) {
	if _, loaded := w.watching.LoadOrStore(name, true); loaded {
		return
	}
	inst, err := store.Inspect(w.ctx, name)
	if err != nil {
		logrus.WithError(err).Warnf("Failed to inspect instance %q", name)
		w.watching.Delete(name)
		return
	}
	go func() {
		err := events.FollowEvents(w.ctx, filepath.Join(inst.Dir, filenames.HostAgentStdout), w.begin, func(ev events.Event) error {
			select {
			case w.events <- watchEvent{Instance: name, Event: ev}:
				return nil
			case <-w.ctx.Done():
				return events.ErrStop
			}
		})
		if err != nil && w.ctx.Err() == nil {
			logrus.WithError(err).Warnf("Watcher for instance %q stopped", name)
		}
	}()
	if w.verbose {
		go w.relayLog(name, filepath.Join(inst.Dir, filenames.HostAgentStderr))
	}
}

// relayLog re-logs the host agent's own log lines (ha.stderr.log, logrus JSON) at their level.
func (w *instanceWatcher) relayLog(name, path string) {
	_ = events.Follow(w.ctx, path, 0, func(line []byte) error {
		var entry struct {
			Time  time.Time `json:"time"`
			Level string    `json:"level"`
			Msg   string    `json:"msg"`
			Error string    `json:"error"`
		}
		// Lines that are not logrus JSON (a panic's stack trace) are skipped.
		if json.Unmarshal(line, &entry) != nil {
			entry.Msg = ""
		}
		if entry.Msg == "" || entry.Time.Before(w.begin) {
			return nil
		}
		msg := "[hostagent] " + entry.Msg
		if entry.Error != "" {
			msg += ": " + entry.Error
		}
		lvl, err := logrus.ParseLevel(entry.Level)
		if err != nil {
			lvl = logrus.InfoLevel
		}
		logrus.WithField("instance", name).Log(lvl, textutil.Printable(msg))
		return nil
	})
}

// newInstances lists $LIMA_HOME every interval and sends the names that were not there before.
func newInstances(ctx context.Context, known []string, interval time.Duration) <-chan string {
	ch := make(chan string)
	seen := map[string]bool{}
	for _, n := range known {
		seen[n] = true
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			names, _ := store.Instances()
			for _, n := range names {
				// A directory without lima.yaml is still being created (or is not an instance).
				if seen[n] || !hasConfig(n) {
					continue
				}
				seen[n] = true
				select {
				case ch <- n:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch
}

func hasConfig(name string) bool {
	dir, err := dirnames.InstanceDir(name)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, filenames.LimaYAML))
	return err == nil
}

// eventPrinter writes events as `TIME INSTANCE | what happened` lines, Lima's format. Our events
// carry the whole status each time, so only what changed since the instance's previous event is
// printed (Lima's events carry only the change).
type eventPrinter struct {
	out  io.Writer
	prev map[string]events.Status
}

func (p *eventPrinter) print(we watchEvent) {
	ev, name := we.Event, we.Instance
	prev := p.prev[name]
	if prev.Exiting && !ev.Status.Exiting {
		prev = events.Status{} // a new host agent: its first event starts from scratch
	}
	p.prev[name] = ev.Status
	for _, line := range eventLines(prev, ev.Status) {
		// The host agent's texts may quote the guest.
		fmt.Fprintf(p.out, "%s %s | %s\n", ev.Time.Local().Format(time.DateTime), name, textutil.Printable(line))
	}
}

// eventLines says what changed from prev to cur, in Lima's words where Lima has the event.
func eventLines(prev, cur events.Status) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if cur.Accelerator != "" && cur.Accelerator != prev.Accelerator {
		add("accelerator: %s", cur.Accelerator)
	}
	if pr := cur.Progress; pr != nil && (prev.Progress == nil || pr.Step != prev.Progress.Step || pr.Done != prev.Progress.Done) {
		if pr.Done {
			add("done: %s", strings.TrimSpace(pr.Description+" ("+pr.Step+")"))
		} else {
			add("waiting: %s", strings.TrimSpace(pr.Description+" ("+pr.Step+")"))
		}
	}
	if cur.Running && (!prev.Running || cur.Degraded != prev.Degraded) {
		if cur.Degraded {
			add("running (degraded)")
		} else {
			add("running")
		}
	}
	if cur.Exiting && !prev.Exiting {
		add("exiting")
	}
	if cur.SSHLocalPort != 0 && cur.SSHLocalPort != prev.SSHLocalPort {
		add("ssh available on port %d", cur.SSHLocalPort)
	}
	for _, e := range cur.Errors {
		if !slices.Contains(prev.Errors, e) {
			add("error: %s", e)
		}
	}
	if ci := cur.CloudInitProgress; ci != nil {
		if ci.Completed {
			add("cloud-init completed")
		} else if ci.LogLine != "" {
			add("cloud-init: %s", ci.LogLine)
		}
	}
	if pf := cur.PortForward; pf != nil {
		switch pf.Type {
		case events.PortForwardForwarding:
			add("forwarding %s %s to %s", pf.Protocol, pf.GuestAddr, pf.HostAddr)
		case events.PortForwardNotForwarding:
			add("not forwarding %s %s", pf.Protocol, pf.GuestAddr)
		case events.PortForwardStopping:
			add("stopping forwarding %s %s", pf.Protocol, pf.GuestAddr)
		case events.PortForwardFailed:
			add("failed to forward %s %s: %s", pf.Protocol, pf.GuestAddr, pf.Error)
		}
	}
	if vs := cur.Vsock; vs != nil {
		switch vs.Type {
		case "started":
			add("started vsock forwarder: %s -> vsock:%d", vs.HostAddr, vs.VsockPort)
		case "skipped":
			add("skipped vsock forwarder: %s", vs.Reason)
		case "failed":
			add("failed to start vsock forwarder: %s", vs.Reason)
		}
	}
	return out
}
