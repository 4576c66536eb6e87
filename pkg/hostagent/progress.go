package hostagent

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/textutil"
)

// cloudInitLog is the guest's cloud-init output (the boot scripts and provisioning log there too).
const cloudInitLog = "/var/log/cloud-init-output.log"

// progressCap bounds how long the cloud-init output is followed, as Lima does.
const progressCap = 10 * time.Minute

// Bounds on the cloud-init output written as events (docs/security.md, "Bounds"): each line is an
// event in ha.stdout.log and a line on the terminal of `limactl start --progress`, and the guest
// decides what it prints.
const (
	progressLineMax = 1024 // bytes of one line; the rest is cut
	progressLines   = 20_000
	progressBytes   = 8 << 20 // of line text, all lines together
)

// followCloudInit writes each new line of the guest's cloud-init output as a cloudInitProgress
// event (`limactl start --progress`) until ctx ends, then one event with Completed set. It reads
// over the agent's SSH connection once that is up, and resumes after the line it reached when the
// boot scripts end its session.
func (a *agent) followCloudInit(ctx context.Context, ew *events.Writer) {
	ctx, cancel := context.WithTimeout(ctx, progressCap)
	defer cancel()
	seen, sent, size := 0, 0, 0
	emit := func(line string) {
		if sent >= progressLines || size >= progressBytes {
			return
		}
		line = textutil.Printable(line)
		sent, size = sent+1, size+len(line)
		if sent == progressLines || size >= progressBytes {
			line = "(the rest of the cloud-init output is not shown; see " + cloudInitLog + " in the guest)"
		}
		_ = ew.Update(func(s *events.Status) {
			s.CloudInitProgress = &events.CloudInitProgress{LogLine: line, Active: true}
		})
	}
	for ctx.Err() == nil {
		n, err := a.tailCloudInit(ctx, seen, emit)
		seen += n
		if err != nil && ctx.Err() == nil {
			logrus.WithError(err).Debug("following the cloud-init output; retrying")
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	_ = ew.Update(func(s *events.Status) {
		s.CloudInitProgress = &events.CloudInitProgress{Completed: true}
	})
}

// tailCloudInit runs one `tail -F` of the log from line skip+1 and calls emit for each line, until
// the session ends or ctx does. It returns how many lines it read.
func (a *agent) tailCloudInit(ctx context.Context, skip int, emit func(string)) (int, error) {
	c, err := a.sshClient(ctx)
	if err != nil {
		return 0, err
	}
	sess, err := c.NewSession()
	if err != nil {
		a.closeSSH()
		return 0, err
	}
	defer sess.Close()
	out, err := sess.StdoutPipe()
	if err != nil {
		return 0, err
	}
	// The log is root-only on some distributions: try sudo first, without a password prompt.
	from, log := fmt.Sprintf("+%d", skip+1), a.markerRoot+cloudInitLog
	cmd := "sudo -n tail -n " + from + " -F " + log + " 2>/dev/null || tail -n " + from + " -F " + log
	if err := sess.Start(cmd); err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	n := 0
	err = textutil.ReadLines(out, progressLineMax, func(line string) bool {
		n++
		emit(line)
		return true
	})
	if werr := sess.Wait(); err == nil {
		err = werr
	}
	return n, err
}
