package events

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// maxLine caps a line Follow keeps while waiting for its newline; a longer one is dropped. The host
// agent writes short lines, but the file is in a directory other processes may write to.
const maxLine = 4 << 20

// Follow is Watch for a file that outlives one host agent: `limactl start` truncates ha.stdout.log
// (or a new instance replaces the whole directory), and Follow then starts again from the top of the
// new content instead of waiting past the old end. Each complete line is passed to line, which may
// return an error to end the follow (ErrStop ends it with nil). It returns when ctx is done, with
// ctx.Err(). A missing file is waited for.
func Follow(ctx context.Context, path string, poll time.Duration, line func([]byte) error) error {
	if poll <= 0 {
		poll = pollInterval
	}
	var (
		f       *os.File
		off     int64
		partial []byte
		buf     = make([]byte, 64*1024)
	)
	closeFile := func() {
		if f != nil {
			_ = f.Close()
			f = nil
		}
		off, partial = 0, nil
	}
	defer closeFile()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		if f != nil {
			// Truncated or replaced since the last read: start over on the current file.
			st, err := os.Stat(path)
			fst, ferr := f.Stat()
			if err != nil || ferr != nil || !os.SameFile(st, fst) || st.Size() < off {
				closeFile()
			}
		}
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				f = nil
				if !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		for f != nil {
			n, err := f.Read(buf)
			off += int64(n)
			partial = append(partial, buf[:n]...)
			for {
				i := bytes.IndexByte(partial, '\n')
				if i < 0 {
					break
				}
				if lerr := line(partial[:i]); lerr != nil {
					if errors.Is(lerr, ErrStop) {
						return nil
					}
					return lerr
				}
				partial = partial[i+1:]
			}
			if len(partial) > maxLine {
				partial = nil
			}
			if err == io.EOF || n == 0 {
				break
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// FollowEvents is Follow for the events in ha.stdout.log: handle sees every event not before begin,
// across restarts of the host agent. Lines that are not events are skipped.
func FollowEvents(ctx context.Context, path string, begin time.Time, handle func(Event) error) error {
	return Follow(ctx, path, 0, func(b []byte) error {
		_, err := dispatch(append(append([]byte(nil), b...), '\n'), begin, handle)
		return err
	})
}
