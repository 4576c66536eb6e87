package hostagent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/textutil"
)

// consolePoll is how often the serial log is read for new lines. The file is local and usually
// unchanged, so a read costs a syscall; it bounds how late a console line wakes a step.
const consolePoll = 100 * time.Millisecond

// Console follows the guest's serial console log (serial.log): it keeps the last lines for error
// messages and wakes the waiting readiness step whenever the boot scripts announce something. It
// also keeps the log's size bounded (see rotate): the guest may print forever.
type Console struct {
	path string
	wake chan struct{}
	// maxLog is the size at which serial.log is rotated (serialLogMax; lowered by tests).
	maxLog int64

	mu sync.Mutex
	// tail: the last lines, each cut to consoleLineMax bytes.
	tail []string
	// events: the boot scripts' announcements seen, as event -> the last maxEventIIDs instance ids
	// ("" for none), for at most maxEventNames events: the guest can print any number of them.
	events  map[string][]string
	written bool // the guest has written anything at all
	// osSeen: a line only a running operating system prints (osLine) has appeared.
	osSeen bool
}

// Bounds on what Console keeps of the guest's console (docs/security.md, "Bounds").
const (
	// consoleTailLines is how many lines Console keeps.
	consoleTailLines = 20
	// consoleLineMax bounds each kept line.
	consoleLineMax = 1024
	// maxEventNames bounds the distinct events Console remembers (the boot scripts have a dozen),
	// maxEventIIDs the instance ids it remembers for each (one per boot of this start).
	maxEventNames = 64
	maxEventIIDs  = 8
	// serialLogMax is the size at which serial.log is rotated to serial.log.1.
	serialLogMax = 8 << 20
)

// NewConsole returns a follower for the serial log at path. Call Follow to start it.
func NewConsole(path string) *Console {
	return &Console{path: path, wake: make(chan struct{}, 1), maxLog: serialLogMax, events: map[string][]string{}}
}

// Wake is signalled after each console line announcing a boot step.
func (c *Console) Wake() <-chan struct{} { return c.wake }

// Tail returns up to n last lines of the console.
func (c *Console) Tail(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > len(c.tail) {
		n = len(c.tail)
	}
	return append([]string(nil), c.tail[len(c.tail)-n:]...)
}

// Written reports whether the guest has printed anything on its console.
func (c *Console) Written() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written
}

// OSRunning reports whether the console has shown a line that only a running operating system prints:
// a Linux kernel message, a boot script's announcement, cloud-init's banner, a login prompt. Output of
// firmware or a kernel's real-mode setup code (Debian's earlyprintk "Probing EDD") does not count: on
// a host whose KVM hangs Linux, that much still appears.
func (c *Console) OSRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.osSeen
}

// kernelLineRE matches a Linux kernel message's timestamp, "[    0.000000] ".
var kernelLineRE = regexp.MustCompile(`\[\s*\d+\.\d{3,}\]`)

// osLine reports whether line is one only a running operating system prints (see OSRunning).
func osLine(line string) bool {
	if kernelLineRE.MatchString(line) {
		return true
	}
	// Not "Welcome to ...": GRUB prints "Welcome to GRUB!" before any kernel runs.
	for _, s := range []string{"Linux version ", "Cloud-init v.", " login:", "systemd[1]:"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// Seen reports whether the boot scripts announced event for instance id iid.
func (c *Console) Seen(event, iid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if iid == "" {
		return len(c.events[event]) > 0
	}
	return slices.Contains(c.events[event], iid)
}

// Follow reads the log until ctx is done. The file may not exist yet; reading starts at its
// beginning (the driver recreates it on every start). Whenever the log has grown past maxLog it is
// rotated.
func (c *Console) Follow(ctx context.Context) {
	var (
		f        *os.File
		partial  []byte
		buf      = make([]byte, 32*1024)
		rotating = true
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	t := time.NewTicker(consolePoll)
	defer t.Stop()
	for {
		if f == nil {
			var err error
			if f, err = os.Open(c.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return
			}
		}
		if f != nil {
			for {
				n, err := f.Read(buf)
				if n > 0 {
					partial = c.consume(append(partial, buf[:n]...))
				}
				if n == 0 || err != nil {
					if err != nil && err != io.EOF {
						return
					}
					break
				}
			}
			if st, err := f.Stat(); rotating && err == nil && st.Size() > c.maxLog {
				if partial, err = c.rotate(f, partial, buf); err != nil {
					logrus.WithError(err).Warnf("cannot rotate %s; it is no longer kept from growing", c.path)
					rotating = false
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rotate moves the log's content to path.1 (replacing the previous one) and empties the log, as
// logrotate's copytruncate does: the writers (QEMU with logappend=on, the wsl2 boot script's >>)
// append, so they go on at the new end. f is the follower's handle, read up to its offset; what
// the guest wrote since is consumed on the way. What it writes between the last read and the
// truncation, microseconds, is lost. It returns the incomplete last line.
func (c *Console) rotate(f *os.File, partial, buf []byte) ([]byte, error) {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return partial, err
	}
	old, err := atomicfile.Create(c.path+".1", 0o644)
	if err != nil {
		return partial, err
	}
	defer old.Abort()
	if _, err := io.Copy(old, io.NewSectionReader(f, 0, off)); err != nil {
		return partial, err
	}
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if _, err := old.Write(buf[:n]); err != nil {
				return partial, err
			}
			partial = c.consume(append(partial, buf[:n]...))
		}
		if err == io.EOF || n == 0 {
			break
		}
		if err != nil {
			return partial, err
		}
	}
	if err := os.Truncate(c.path, 0); err != nil {
		return partial, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return partial, err
	}
	return partial, old.Commit()
}

// consume records every complete line in data and returns the incomplete rest.
func (c *Console) consume(data []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = c.written || len(data) > 0
	woke := false
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(data[:i]), "\r")
		data = data[i+1:]
		if strings.TrimSpace(line) == "" {
			continue
		}
		c.tail = append(c.tail, textutil.Clip(line, consoleLineMax))
		c.osSeen = c.osSeen || osLine(line)
		if len(c.tail) > consoleTailLines {
			c.tail = c.tail[len(c.tail)-consoleTailLines:]
		}
		if ev, ok := cidata.ParseConsoleLine(line); ok {
			c.remember(ev)
			c.osSeen = true
			woke = true
		} else if strings.Contains(line, "SSH HOST KEY") || strings.Contains(line, "Cloud-init v.") {
			woke = true // sshd is about to answer, or has: probe now
		}
	}
	// getty's prompt ("lima-vm login: ") ends without a newline, so it is only ever a partial line.
	c.osSeen = c.osSeen || bytes.Contains(data, []byte(" login: "))
	if len(data) > 64*1024 { // a console without newlines: keep memory bounded
		data = data[len(data)-4096:]
	}
	if woke {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return data
}

// remember records an announcement: a new event name unless maxEventNames are known, its instance
// id among the last maxEventIIDs of the event.
func (c *Console) remember(ev cidata.ConsoleEvent) {
	iids, known := c.events[ev.Event]
	if slices.Contains(iids, ev.IID) || (!known && len(c.events) >= maxEventNames) {
		return
	}
	if len(iids) == maxEventIIDs {
		iids = slices.Delete(iids, 0, 1)
	}
	c.events[ev.Event] = append(iids, ev.IID)
}
