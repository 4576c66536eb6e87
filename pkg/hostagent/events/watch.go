package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"
)

// pollInterval is how often Watch looks for new lines. The file is local, so this is cheap; it bounds
// how late `limactl start` prints a step, not how long start-up takes.
const pollInterval = 50 * time.Millisecond

// ErrStop may be returned by a Watch handler to end the watch without an error.
var ErrStop = errors.New("stop watching")

// Watch follows the JSON-lines file at path, calling handle for every event whose time is not before
// begin, until handle returns an error (ErrStop ends the watch with nil) or ctx is done. A file that
// does not exist yet is waited for. Lines that are not events are skipped.
func Watch(ctx context.Context, path string, begin time.Time, handle func(Event) error) error {
	var (
		f       *os.File
		partial []byte
		buf     = make([]byte, 64*1024)
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if f == nil {
			var err error
			f, err = os.Open(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if f != nil {
			for {
				n, err := f.Read(buf)
				if n > 0 {
					partial = append(partial, buf[:n]...)
					var herr error
					partial, herr = dispatch(partial, begin, handle)
					if herr != nil {
						if errors.Is(herr, ErrStop) {
							return nil
						}
						return herr
					}
				}
				if err == io.EOF || n == 0 {
					break
				}
				if err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// dispatch handles every complete line in data and returns the incomplete rest.
func dispatch(data []byte, begin time.Time, handle func(Event) error) ([]byte, error) {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return data, nil
		}
		line := data[:i]
		data = data[i+1:]
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Time.IsZero() {
			continue
		}
		if ev.Time.Before(begin) {
			continue
		}
		if err := handle(ev); err != nil {
			return data, err
		}
	}
}

// ReadAll returns every event in the file at path, for tests and `limactl watch --history`.
func ReadAll(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && !ev.Time.IsZero() {
			out = append(out, ev)
		}
	}
	return out, sc.Err()
}
