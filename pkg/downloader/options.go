package downloader

import (
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Opt changes how Download, Cached, CacheEntries and Prune work.
type Opt func(*options) error

type options struct {
	cacheDir    string // cache root; "" = no cache
	digest      *Digest
	decompress  bool
	description string
	progress    io.Writer
	tty         bool
	timeout     time.Duration
	retries     int
}

// DefaultRetries is how many times Download resumes an interrupted transfer by itself.
const DefaultRetries = 3

func newOptions(opts []Opt) (*options, error) {
	o := &options{retries: DefaultRetries}
	for _, f := range opts {
		if err := f(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithCache keeps the download in the default cache (see CacheDir).
func WithCache() Opt {
	return func(o *options) error {
		dir, err := CacheDir()
		if err != nil {
			return err
		}
		o.cacheDir = dir
		return nil
	}
}

// WithCacheDir keeps the download in the cache rooted at dir (entries go below
// dir/download/by-url-sha256). An empty dir disables the cache.
func WithCacheDir(dir string) Opt {
	return func(o *options) error {
		if dir == "" {
			o.cacheDir = ""
			return nil
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		o.cacheDir = abs
		return nil
	}
}

// WithExpectedDigest makes the download fail unless its bytes (before decompression) have this
// digest, written "sha256:<hex>", "sha384:<hex>" or "sha512:<hex>". An empty string means none.
func WithExpectedDigest(digest string) Opt {
	return func(o *options) error {
		if digest == "" {
			o.digest = nil
			return nil
		}
		d, err := ParseDigest(digest)
		if err != nil {
			return err
		}
		o.digest = &d
		return nil
	}
}

// WithDecompress decompresses .gz, .bz2, .xz, .zst and .zstd files (recognised by the URL's
// extension or by their first bytes) into the local path. The cache keeps the compressed bytes.
func WithDecompress(decompress bool) Opt {
	return func(o *options) error { o.decompress = decompress; return nil }
}

// WithDescription names the file in messages and on the progress bar ("the image").
func WithDescription(description string) Opt {
	return func(o *options) error { o.description = description; return nil }
}

// WithProgress draws a progress bar (size, speed, ETA) on w when tty is true. Without a TTY,
// or when logrus writes JSON, nothing is drawn.
func WithProgress(w io.Writer, tty bool) Opt {
	return func(o *options) error { o.progress = w; o.tty = tty; return nil }
}

// WithTimeout bounds the whole Download call, transfer included. Zero means no bound.
func WithTimeout(d time.Duration) Opt {
	return func(o *options) error { o.timeout = d; return nil }
}

// WithRetries sets how many times an interrupted transfer is resumed within one Download call
// (default DefaultRetries). Whatever the count, the partial file stays in the cache for the next call.
func WithRetries(n int) Opt {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("retries must be >= 0, got %d", n)
		}
		o.retries = n
		return nil
	}
}
