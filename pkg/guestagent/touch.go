package guestagent

import (
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// touchQueue is how many Inotify messages may wait for the toucher; more are dropped (with a
// debug message) rather than holding up the connection's reader.
const touchQueue = 256

// toucher applies the host's Inotify messages (mountInotify) in a goroutine of its own, so that a
// slow or hung mount never stalls the protocol.
type toucher struct {
	once      sync.Once
	announced atomic.Bool
	ch        chan []api.InotifyEvent
}

// HandleInotify queues the host's file events; each path is touched (its modification time set to
// the host's mtime) so that the guest kernel reports it to inotify watchers. Only
// files on shared-folder mounts (9p, virtiofs, FUSE: sshfs) are touched; others, and
// paths that do not exist, are skipped.
func (a *Agent) HandleInotify(evs []api.InotifyEvent) {
	t := &a.touch
	t.once.Do(func() {
		t.ch = make(chan []api.InotifyEvent, touchQueue)
		go func() {
			logged := 0
			for evs := range t.ch {
				for _, e := range evs {
					err := touch(e.Path, e.MTime)
					switch {
					case err != nil && logged < 10:
						logged++
						logrus.WithError(err).Warnf("inotify: cannot touch %s", e.Path)
					case err != nil:
						logrus.WithError(err).Debugf("inotify: cannot touch %s", e.Path)
					default:
						logrus.Debugf("inotify: touched %s", e.Path)
					}
				}
			}
		}()
	})
	if len(evs) > 0 && !t.announced.Swap(true) {
		logrus.Infof("inotify: the host sends file events (first: %s)", evs[0].Path)
	}
	select {
	case t.ch <- evs:
	default:
		logrus.Debugf("inotify: %d host file events dropped (queue full)", len(evs))
	}
}
