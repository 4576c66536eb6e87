package hostagent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/limactl/limactl/pkg/cidata"
)

// consolePoll is how often the serial log is read for new lines. The file is local and usually
// unchanged, so a read costs a syscall; it bounds how late a console line wakes a step.
const consolePoll = 100 * time.Millisecond

// Console follows the guest's serial console log (serial.log): it keeps the last lines for error
// messages and wakes the waiting readiness step whenever the boot scripts announce something.
type Console struct {
	path string
	wake chan struct{}

	mu      sync.Mutex
	tail    []string
	events  []cidata.ConsoleEvent
	written bool // the guest has written anything at all
	// osSeen: a line only a running operating system prints (osLine) has appeared.
	osSeen bool
}

// consoleTailLines is how many lines Console keeps.
const consoleTailLines = 20

// NewConsole returns a follower for the serial log at path. Call Follow to start it.
func NewConsole(path string) *Console {
	return &Console{path: path, wake: make(chan struct{}, 1)}
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
	for _, e := range c.events {
		if e.Event == event && (iid == "" || e.IID == iid) {
			return true
		}
	}
	return false
}

// Follow reads the log until ctx is done. The file may not exist yet; reading starts at its
// beginning (the driver recreates it on every start).
func (c *Console) Follow(ctx context.Context) {
	var (
		f       *os.File
		partial []byte
		buf     = make([]byte, 32*1024)
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
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
		c.tail = append(c.tail, line)
		c.osSeen = c.osSeen || osLine(line)
		if len(c.tail) > consoleTailLines {
			c.tail = c.tail[len(c.tail)-consoleTailLines:]
		}
		if ev, ok := cidata.ParseConsoleLine(line); ok {
			c.events = append(c.events, ev)
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
