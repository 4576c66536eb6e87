package downloader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Status says what Download did.
type Status string

const (
	StatusUnknown    Status = ""
	StatusDownloaded Status = "downloaded" // fetched from the server (or copied from a local file)
	StatusSkipped    Status = "skipped"    // the local path already existed; nothing was done
	StatusUsedCache  Status = "used-cache" // served from the download cache
)

// Result describes a finished Download.
type Result struct {
	Status Status
	// CachePath is the cached data file, "" when the cache was not used.
	CachePath string
	// LastModified is the server's Last-Modified time (zero when unknown).
	LastModified time.Time
	// ContentType is the server's Content-Type ("" when unknown).
	ContentType string
	// ValidatedDigest is true when the expected digest was checked (now or when it was cached).
	ValidatedDigest bool
}

// ErrDigestMismatch is wrapped by the error of a download whose bytes do not have the expected digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// Download puts the file at location (an http(s) URL, a file:// URL or a local path, ~ allowed)
// at localPath. An existing localPath is left alone (StatusSkipped). With WithCache or
// WithCacheDir, http(s) downloads go through the cache, where one process at a time works on a
// URL; localPath may then be "" to only fill the cache. Files are written atomically: on error,
// neither localPath nor the cache holds a partial or unverified file (the cache keeps a
// data.partial to resume, which is never served).
func Download(ctx context.Context, localPath, location string, opts ...Opt) (*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if localPath != "" {
		if localPath, err = filepath.Abs(localPath); err != nil {
			return nil, err
		}
		if exists(localPath) {
			return &Result{Status: StatusSkipped}, nil
		}
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	if IsLocal(location) {
		if localPath == "" {
			return &Result{Status: StatusSkipped}, nil
		}
		return copyLocal(ctx, localPath, location, o)
	}
	if !isHTTP(location) {
		return nil, fmt.Errorf("cannot download %q: unsupported URL scheme (use http, https, file or a local path)", location)
	}
	if o.cacheDir == "" {
		if localPath == "" {
			return nil, errors.New("downloading without the cache needs a local path")
		}
		return downloadDirect(ctx, localPath, location, o)
	}
	return downloadCached(ctx, localPath, location, o)
}

// IsLocal reports whether location is a local path or a file:// URL rather than a remote URL.
func IsLocal(location string) bool {
	if strings.HasPrefix(location, "file://") {
		return true
	}
	u, err := url.Parse(location)
	// A one-letter scheme is a Windows drive ("C:\...").
	return err != nil || u.Scheme == "" || len(u.Scheme) == 1
}

func isHTTP(location string) bool {
	u, err := url.Parse(location)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

func describe(o *options, location string) string {
	if o.description != "" {
		return o.description + " (" + location + ")"
	}
	return location
}

// downloadCached fills the cache entry of location (or revalidates it) and copies it to localPath.
func downloadCached(ctx context.Context, localPath, location string, o *options) (*Result, error) {
	e := entryFor(o.cacheDir, location)
	unlock, err := e.lock(location)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }() // closing the lock file releases the lock; nothing to do if that fails
	res, err := e.ensure(ctx, location, o)
	if err != nil {
		return nil, err
	}
	if localPath != "" {
		if err := populate(ctx, localPath, e.path(fileData), location, o); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// ensure makes the entry hold a complete, valid copy of location.
func (e entry) ensure(ctx context.Context, location string, o *options) (*Result, error) {
	if exists(e.path(fileData)) {
		if o.digest != nil {
			ok, err := e.checkDigest(*o.digest)
			if err != nil {
				return nil, err
			}
			if ok {
				return e.result(StatusUsedCache, true), nil
			}
			logrus.Infof("The cached copy of %s does not have digest %s; downloading it again", location, o.digest)
			if err := errors.Join(e.removeDigests(), removeIfExists(e.path(fileData))); err != nil {
				return nil, err
			}
		} else {
			fresh, resp, err := e.revalidate(ctx, location) //nolint:bodyclose // resp goes to e.download, whose fetchOnce closes it
			if err != nil {
				logrus.Warnf("Cannot check whether %s changed (%v); using the cached copy", location, err)
				return e.result(StatusUsedCache, false), nil
			}
			if fresh {
				return e.result(StatusUsedCache, false), nil
			}
			logrus.Infof("%s changed on the server; downloading it again", location)
			return e.download(ctx, location, o, resp)
		}
	}
	return e.download(ctx, location, o, nil)
}

// populate copies (decompressing if asked) the file src, which came from location, to localPath.
func populate(ctx context.Context, localPath, src, location string, o *options) error {
	if err := os.MkdirAll(filepath.Dir(localPath), 0o755); err != nil {
		return err
	}
	if o.decompress {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		c, r := detectCompression(location, f)
		if c != noCompression {
			return decompressTo(ctx, localPath, c, r, o)
		}
	}
	return cloneOrCopy(ctx, src, localPath)
}

// decompressTo writes the decompression of r to localPath, atomically and sparsely.
func decompressTo(ctx context.Context, localPath string, c compression, r io.Reader, o *options) error {
	dr, err := decompressor(c, r)
	if err != nil {
		return err
	}
	defer dr.Close()
	logrus.Debugf("Decompressing %s (%s)", filepath.Base(localPath), c)
	return writeFileAtomic(localPath, func(f *os.File) error {
		w := &sparseWriter{f: f}
		if _, err := io.Copy(w, &ctxReader{ctx: ctx, r: dr}); err != nil {
			return fmt.Errorf("cannot decompress (%s) into %s: %w", c, localPath, err)
		}
		return w.finish()
	})
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
