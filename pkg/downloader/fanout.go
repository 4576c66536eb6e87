package downloader

import (
	"io"
	"sync"
	"sync/atomic"
)

// fanout hands every chunk written to it to each of its writers, each running on its own
// goroutine, so writing the file and hashing overlap with each other and with reading the
// network. Write copies into one of a few pooled buffers and returns; a full pool makes it wait.
// Errors of the writers surface on a later Write and on Close, which must always be called.
type fanout struct {
	chans []chan *chunk
	wg    sync.WaitGroup
	pool  chan []byte
	mu    sync.Mutex
	err   error
	once  sync.Once
}

type chunk struct {
	b    []byte
	refs atomic.Int32
}

const fanoutBuffers = 4

func newFanout(ws ...io.Writer) *fanout {
	f := &fanout{pool: make(chan []byte, fanoutBuffers)}
	for range fanoutBuffers {
		f.pool <- make([]byte, copyBufferSize)
	}
	for _, w := range ws {
		ch := make(chan *chunk, fanoutBuffers)
		f.chans = append(f.chans, ch)
		f.wg.Go(func() {
			for c := range ch {
				if f.error() == nil {
					if _, err := w.Write(c.b); err != nil {
						f.setError(err)
					}
				}
				if c.refs.Add(-1) == 0 {
					f.pool <- c.b[:cap(c.b)]
				}
			}
		})
	}
	return f
}

func (f *fanout) error() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fanout) setError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *fanout) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := f.error(); err != nil {
			return n, err
		}
		buf := <-f.pool
		m := copy(buf, p)
		c := &chunk{b: buf[:m]}
		c.refs.Store(int32(len(f.chans)))
		for _, ch := range f.chans {
			ch <- c
		}
		p, n = p[m:], n+m
	}
	return n, nil
}

// Close waits until every writer has written everything and returns the first error. Calling
// it again returns the same error.
func (f *fanout) Close() error {
	f.once.Do(func() {
		for _, ch := range f.chans {
			close(ch)
		}
		f.wg.Wait()
	})
	return f.error()
}
