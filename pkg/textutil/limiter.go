package textutil

import (
	"sync"
	"time"
)

// Limiter bounds how often something the guest can trigger at will is logged (or written as an
// event): Burst at once, then one every Every. The log of an instance then grows by at most one
// line per Every, whatever the guest does. The zero value lets nothing through; it is safe for
// concurrent use.
type Limiter struct {
	Burst int
	Every time.Duration

	mu         sync.Mutex
	started    bool
	tokens     float64
	last       time.Time
	suppressed int
}

// Allow reports whether the next message may go out and, when it may, how many were held back
// since the last one that went out (say so in the message).
func (l *Limiter) Allow() (ok bool, suppressed int) { return l.allowAt(time.Now()) }

func (l *Limiter) allowAt(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		l.started, l.tokens, l.last = true, float64(l.Burst), now
	}
	if l.Every > 0 {
		l.tokens = min(float64(l.Burst), l.tokens+float64(now.Sub(l.last))/float64(l.Every))
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return true, n
}
