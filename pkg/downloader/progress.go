package downloader

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	units "github.com/docker/go-units"
	"github.com/sirupsen/logrus"
)

// progressBar draws one "\r"-rewritten status line: done/total, speed and ETA. A nil *progressBar
// draws nothing, so callers need not check.
type progressBar struct {
	mu       sync.Mutex
	w        io.Writer
	desc     string
	total    int64 // -1 = unknown
	done     int64
	base     int64 // bytes present before this transfer (resume)
	start    time.Time
	lastDraw time.Time
	width    int
}

const drawEvery = 200 * time.Millisecond

// newProgressBar returns nil unless o asks for a bar on a TTY and logs are not JSON.
func newProgressBar(o *options, total, already int64) *progressBar {
	if o.progress == nil || !o.tty {
		return nil
	}
	if _, isJSON := logrus.StandardLogger().Formatter.(*logrus.JSONFormatter); isJSON {
		return nil
	}
	desc := o.description
	if desc == "" {
		desc = "download"
	}
	return &progressBar{w: o.progress, desc: desc, total: total, done: already, base: already, start: time.Now()}
}

// Write counts p as transferred.
func (p *progressBar) Write(b []byte) (int, error) {
	if p == nil {
		return len(b), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(len(b))
	if now := time.Now(); now.Sub(p.lastDraw) >= drawEvery {
		p.lastDraw = now
		p.draw(now, false)
	}
	return len(b), nil
}

// finish draws the final line and ends it.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(time.Now(), true)
	fmt.Fprintln(p.w)
}

func (p *progressBar) draw(now time.Time, final bool) {
	elapsed := now.Sub(p.start).Seconds()
	speed := 0.0
	if elapsed > 0 {
		speed = float64(p.done-p.base) / elapsed
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", p.desc, units.BytesSize(float64(p.done)))
	if p.total > 0 {
		fmt.Fprintf(&b, " / %s (%d%%)", units.BytesSize(float64(p.total)), p.done*100/p.total)
	}
	fmt.Fprintf(&b, "  %s/s", units.BytesSize(speed))
	switch {
	case final:
		fmt.Fprintf(&b, "  in %s", time.Duration(elapsed*float64(time.Second)).Round(time.Second/10))
	case p.total > 0 && speed > 0:
		eta := time.Duration(float64(p.total-p.done) / speed * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
	}
	line := b.String()
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}
