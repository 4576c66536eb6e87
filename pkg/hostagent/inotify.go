package hostagent

// mountInotify: host file events under writable mounts are sent to the guest agent, which touches
// the files (sets their mtime to the host's) so that the guest's inotify watchers see changes made
// on the host; 9p, virtiofs and sshfs only report changes made in the guest. The watcher is
// inotify on Linux hosts (inotify_linux.go); other hosts log that it is not available. Messages
// ride on the guest-agent connection the port forwarder opens (galink.go).
//
// Loops: the guest's touch sets the mtime the host file already has, so the host sees at most an
// attribute event with an unchanged mtime, which the filter drops. A write made in the guest is
// reported back once (the guest sees one extra IN_MODIFY for it, with no change).

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/limayaml"
)

// maxInotifyWatches bounds the directories watched per instance (inotify is not recursive: one
// watch per directory). Directories are added breadth first, so a large tree loses its deepest
// levels first; the log says when the bound, or the kernel's fs.inotify.max_user_watches, is hit.
const maxInotifyWatches = 16384

// inotifyCoalesce is how long events are gathered after the first one before they are sent: a
// file written in many pieces is sent once per window.
const inotifyCoalesce = 50 * time.Millisecond

// maxInotifyBatch bounds the events of one message.
const maxInotifyBatch = 512

// mountMapping is one writable mount: host folder and guest mount point.
type mountMapping struct {
	Location, MountPoint string
}

// inotifyMounts lists the mounts mountInotify watches: the writable ones (a read-only mount cannot
// be touched in the guest), longest location first so that nested mounts map to the innermost one.
// It is empty unless mountInotify is on for a non-plain Linux guest.
func inotifyMounts(y *limayaml.LimaYAML) []mountMapping {
	if !deref(y.MountInotify) || deref(y.Plain) || (y.OS != nil && *y.OS != limayaml.LINUX) {
		return nil
	}
	var out []mountMapping
	for _, m := range y.Mounts {
		if !deref(m.Writable) || m.Location == "" {
			continue
		}
		mp := deref(m.MountPoint)
		if mp == "" {
			mp = m.Location
		}
		out = append(out, mountMapping{Location: filepath.Clean(m.Location), MountPoint: mp})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Location) > len(out[j].Location) })
	return out
}

// guestPath maps a host path to the guest path of the innermost mount holding it.
func guestPath(mounts []mountMapping, hostPath string) (string, bool) {
	for _, m := range mounts {
		rel, ok := under(m.Location, hostPath)
		if !ok {
			continue
		}
		if rel == "" {
			return m.MountPoint, true
		}
		return strings.TrimSuffix(m.MountPoint, "/") + "/" + filepath.ToSlash(rel), true
	}
	return "", false
}

// under returns p relative to dir when p is dir or below it ("" for dir itself).
func under(dir, p string) (string, bool) {
	if p == dir {
		return "", true
	}
	prefix := dir
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if strings.HasPrefix(p, prefix) {
		return p[len(prefix):], true
	}
	return "", false
}

// mtimeFilter remembers the mtime last sent for each host path, and drops events that bring no new
// mtime: the echo of the guest's touch, and repeated events for one change.
type mtimeFilter struct {
	sent map[string]time.Time
	max  int
}

func newMtimeFilter(max int) *mtimeFilter {
	return &mtimeFilter{sent: map[string]time.Time{}, max: max}
}

// changed reports whether mtime is new for p, and remembers it.
func (f *mtimeFilter) changed(p string, mtime time.Time) bool {
	if last, ok := f.sent[p]; ok && last.Equal(mtime) {
		return false
	}
	if len(f.sent) >= f.max {
		clear(f.sent) // at worst one extra touch per file
	}
	f.sent[p] = mtime
	return true
}

// forget drops p (it was removed).
func (f *mtimeFilter) forget(p string) { delete(f.sent, p) }

// pathWatcher reports host paths that changed (inotify_linux.go).
type pathWatcher interface {
	// Next blocks until paths changed, and returns them (a path may repeat); io.EOF after Close.
	Next() ([]string, error)
	Close() error
}

// inotifyEvents turns changed host paths into guest events: paths outside the mounts, paths that
// no longer exist and paths whose mtime was sent already are left out. hosts[i] is the host path
// of out[i].
func inotifyEvents(mounts []mountMapping, f *mtimeFilter, paths []string) (out []api.InotifyEvent, hosts []string) {
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		gp, ok := guestPath(mounts, p)
		if !ok {
			continue
		}
		st, err := os.Lstat(p)
		if err != nil {
			f.forget(p)
			continue
		}
		if !f.changed(p, st.ModTime()) {
			continue
		}
		out = append(out, api.InotifyEvent{Path: gp, MTime: st.ModTime().UTC()})
		hosts = append(hosts, p)
	}
	return out, hosts
}

// propagateInotify reads w until it ends or ctx is done, and sends the resulting events with send
// (which drops them while the guest agent is not connected). Events are gathered for
// inotifyCoalesce after the first one.
func propagateInotify(ctx context.Context, w pathWatcher, mounts []mountMapping, send func([]api.InotifyEvent) error) {
	stop := context.AfterFunc(ctx, func() { _ = w.Close() })
	defer stop()
	batches := make(chan []string, 64)
	go func() {
		defer close(batches)
		for {
			paths, err := w.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					logrus.WithError(err).Warn("mountInotify: the host watcher ended; host changes no longer reach the guest's watchers")
				}
				return
			}
			batches <- paths
		}
	}()
	f := newMtimeFilter(1 << 16)
	var sent, failed int
	for paths := range batches {
		timer := time.NewTimer(inotifyCoalesce)
	gather:
		for {
			select {
			case more, ok := <-batches:
				if !ok {
					break gather
				}
				paths = append(paths, more...)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		evs, hosts := inotifyEvents(mounts, f, paths)
		for len(evs) > 0 {
			n := min(len(evs), maxInotifyBatch)
			if err := send(evs[:n]); err != nil {
				if failed++; failed == 1 {
					logrus.WithError(err).Info("mountInotify: host file events not sent (logged once)")
				}
				for _, p := range hosts[:n] {
					f.forget(p) // a later event with the same mtime must still be sent
				}
			} else if sent++; sent == 1 {
				logrus.Infof("mountInotify: the first host file events went to the guest (%s)", evs[0].Path)
			}
			evs, hosts = evs[n:], hosts[n:]
		}
	}
}

// startInotify starts mountInotify when the instance asks for it and returns the guest-agent dial
// function the port forwarder should use: dial itself, or dial wrapped so that the inotify events
// share its connection. It returns at once; the watcher runs until ctx is done.
func (a *agent) startInotify(ctx context.Context, dial func(context.Context) (io.ReadWriteCloser, error)) func(context.Context) (io.ReadWriteCloser, error) {
	mounts := inotifyMounts(a.inst.Config)
	if len(mounts) == 0 {
		if deref(a.inst.Config.MountInotify) {
			logrus.Info("mountInotify: no writable mount to watch (read-only mounts cannot be touched in the guest)")
		}
		return dial
	}
	if dial == nil {
		logrus.Warn("mountInotify: this guest has no guest agent; host changes will not reach the guest's watchers")
		return nil
	}
	roots := make([]string, len(mounts))
	for i, m := range mounts {
		roots[i] = m.Location
		_ = os.MkdirAll(m.Location, 0o755) // as the mounts themselves do at start
	}
	w, err := newPathWatcher(roots, maxInotifyWatches)
	if err != nil {
		logrus.WithError(err).Warn("mountInotify: cannot watch the host folders; host changes will not reach the guest's watchers")
		return dial
	}
	link := &gaLink{}
	go propagateInotify(ctx, w, mounts, func(evs []api.InotifyEvent) error {
		return link.send(api.Message{Type: api.TypeInotify, Inotify: evs})
	})
	logrus.Infof("mountInotify: watching %d host folder(s) for the guest", len(roots))
	return link.wrap(dial)
}
