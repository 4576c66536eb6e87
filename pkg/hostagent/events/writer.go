package events

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Writer serialises events to an io.Writer, one JSON line each. It keeps the current status so each
// event carries all of it. It is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	status Status
	now    func() time.Time
}

// NewWriter returns a Writer appending to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, now: time.Now} }

// Update applies fn to the current status and writes the resulting event. One-shot fields
// (CloudInitProgress, PortForward, Vsock) are cleared after each write so they are not repeated.
func (w *Writer) Update(fn func(*Status)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn(&w.status)
	ev := Event{Time: w.now().UTC(), Status: w.status}
	w.status.CloudInitProgress = nil
	w.status.PortForward = nil
	w.status.Vsock = nil
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = w.w.Write(append(b, '\n'))
	return err
}

// Status returns a copy of the current status.
func (w *Writer) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}
