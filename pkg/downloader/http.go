package downloader

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
)

// client is shared so connections are reused. Transparent gzip is off: the bytes we hash and
// cache must be the bytes the server stores, and Range requests must address them.
var client = &http.Client{Transport: newTransport()}

func newTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	t.ResponseHeaderTimeout = 2 * time.Minute
	t.ReadBufferSize = 256 << 10
	return t
}

const copyBufferSize = 1 << 20

// writerOnly hides ReaderFrom so io.CopyBuffer uses our large buffer.
type writerOnly struct{ io.Writer }

// interruptedError is a transfer that broke after the response started.
type interruptedError struct {
	err        error
	progressed bool // some bytes arrived in this attempt
}

func (e *interruptedError) Error() string { return e.err.Error() }
func (e *interruptedError) Unwrap() error { return e.err }

func newRequest(ctx context.Context, location string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", location, err)
	}
	req.Header.Set("User-Agent", "limactl")
	return req, nil
}

// revalidate asks the server whether the cached data is still current, with a conditional GET.
// When it is not, the 200 response is returned so its body becomes the new download.
func (e entry) revalidate(ctx context.Context, location string) (fresh bool, resp *http.Response, err error) {
	req, err := newRequest(ctx, location)
	if err != nil {
		return false, nil, err
	}
	storedTime := readTrimmed(e.path(fileTime))
	storedETag := readTrimmed(e.path(fileETag))
	if storedTime != "" {
		req.Header.Set("If-Modified-Since", storedTime)
	}
	if storedETag != "" {
		req.Header.Set("If-None-Match", storedETag)
	}
	resp, err = client.Do(req)
	if err != nil {
		return false, nil, err
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		resp.Body.Close()
		return true, nil, nil
	case http.StatusOK:
		if (storedTime != "" && resp.Header.Get("Last-Modified") == storedTime) ||
			(storedETag != "" && resp.Header.Get("ETag") == storedETag) {
			resp.Body.Close()
			return true, nil, nil
		}
		return false, resp, nil
	}
	resp.Body.Close()
	return false, nil, fmt.Errorf("the server answered %s", resp.Status)
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// respMeta is what the cache records about a response.
type respMeta struct{ lastModified, contentType, etag string }

// download fetches location into the entry (resuming data.partial when it can), checks the
// digest over the whole file and moves it into place as data. resp, when not nil, is an already
// open 200 response to use for the first attempt.
func (e entry) download(ctx context.Context, location string, o *options, resp *http.Response) (*Result, error) {
	var sum *Digest
	var meta respMeta
	for attempt := 0; ; attempt++ {
		var err error
		sum, meta, err = e.fetchOnce(ctx, location, o, resp)
		resp = nil
		if err == nil {
			break
		}
		var ie *interruptedError
		if errors.As(err, &ie) && ie.progressed && attempt < o.retries && ctx.Err() == nil {
			logrus.Warnf("Download of %s was interrupted (%v); resuming", describe(o, location), ie.err)
			continue
		}
		return nil, err
	}
	partial := e.path(filePartial)
	if o.digest != nil && *sum != *o.digest {
		err := mismatchError(location, *o.digest, *sum)
		return nil, errors.Join(err, removeIfExists(partial), removeIfExists(e.path(fileValidator)))
	}
	if err := e.removeDigests(); err != nil {
		return nil, err
	}
	if err := atomicfile.Rename(partial, e.path(fileData)); err != nil {
		return nil, fmt.Errorf("cannot move the download into the cache: %w", err)
	}
	_ = removeIfExists(e.path(fileValidator))
	for name, v := range map[string]string{fileTime: meta.lastModified, fileType: meta.contentType, fileETag: meta.etag} {
		var err error
		if v == "" {
			err = removeIfExists(e.path(name))
		} else {
			err = writeAtomic(e.path(name), []byte(v+"\n"))
		}
		if err != nil {
			return nil, err
		}
	}
	if o.digest != nil {
		if err := e.recordDigest(*o.digest); err != nil {
			return nil, err
		}
	}
	return e.result(StatusDownloaded, o.digest != nil), nil
}

// fetchOnce runs one GET into data.partial. It sends Range + If-Range when a partial file and
// its validator exist; a 200 answer (the file changed, or no range support) starts over.
func (e entry) fetchOnce(ctx context.Context, location string, o *options, resp *http.Response) (*Digest, respMeta, error) {
	partial := e.path(filePartial)
	var offset int64
	if resp == nil {
		validator := readTrimmed(e.path(fileValidator))
		if st, err := os.Stat(partial); err == nil && st.Size() > 0 && validator != "" {
			offset = st.Size()
		}
		req, err := newRequest(ctx, location)
		if err != nil {
			return nil, respMeta{}, err
		}
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
			req.Header.Set("If-Range", validator)
		}
		resp, err = client.Do(req)
		if err != nil {
			return nil, respMeta{}, fmt.Errorf("cannot download %s: %w", describe(o, location), err)
		}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0 && rangeStart(resp) == offset:
		logrus.Debugf("Resuming %s at byte %d", location, offset)
	case resp.StatusCode == http.StatusOK:
		offset = 0
	case offset > 0 && (resp.StatusCode == http.StatusRequestedRangeNotSatisfiable || resp.StatusCode == http.StatusPartialContent):
		// The partial file is not a prefix of what the server has (or the range came back
		// wrong): drop it and start over.
		if err := removeIfExists(partial); err != nil {
			return nil, respMeta{}, err
		}
		return nil, respMeta{}, &interruptedError{err: errors.New("the server refused to resume"), progressed: true}
	default:
		return nil, respMeta{}, fmt.Errorf("cannot download %s: the server answered %s", describe(o, location), resp.Status)
	}
	meta := respMeta{
		lastModified: resp.Header.Get("Last-Modified"),
		contentType:  resp.Header.Get("Content-Type"),
		etag:         resp.Header.Get("ETag"),
	}
	if offset == 0 {
		if err := e.saveValidator(meta); err != nil {
			return nil, respMeta{}, err
		}
	}
	flags := os.O_RDWR | os.O_CREATE
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(partial, flags, 0o644)
	if err != nil {
		return nil, respMeta{}, fmt.Errorf("cannot write into the cache: %w", err)
	}
	defer f.Close()
	var h hash.Hash
	sinks := []io.Writer{writerOnly{f}}
	if o.digest != nil {
		h = o.digest.newHash()
		if offset > 0 {
			if _, err := io.Copy(h, io.NewSectionReader(f, 0, offset)); err != nil {
				return nil, respMeta{}, fmt.Errorf("cannot rehash the partial download: %w", err)
			}
		}
		sinks = append(sinks, h)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return nil, respMeta{}, err
		}
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = offset + resp.ContentLength
	}
	var body io.Reader = &ctxReader{ctx: ctx, r: resp.Body}
	if bar := newProgressBar(o, total, offset); bar != nil {
		body = io.TeeReader(body, bar)
		defer bar.finish()
	}
	fan := newFanout(sinks...)
	n, err := io.CopyBuffer(fan, body, make([]byte, copyBufferSize))
	if werr := fan.Close(); werr != nil {
		return nil, respMeta{}, fmt.Errorf("cannot write into the cache: %w", werr)
	}
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, respMeta{}, &interruptedError{err: fmt.Errorf("download of %s broke off after %d bytes: %w", location, offset+n, err), progressed: n > 0}
	}
	if err := f.Close(); err != nil {
		return nil, respMeta{}, err
	}
	if h == nil {
		return nil, meta, nil
	}
	sum := o.digest.sum(h)
	return &sum, meta, nil
}

// saveValidator records what identifies this version of the file for a later If-Range: a strong
// ETag, else Last-Modified. Without either, a partial download cannot be resumed safely.
func (e entry) saveValidator(meta respMeta) error {
	v := meta.lastModified
	if meta.etag != "" && !strings.HasPrefix(meta.etag, "W/") {
		v = meta.etag
	}
	if v == "" {
		return removeIfExists(e.path(fileValidator))
	}
	return writeAtomic(e.path(fileValidator), []byte(v+"\n"))
}

// rangeStart returns the first byte of a 206 response's Content-Range ("bytes N-M/T"), or -1.
func rangeStart(resp *http.Response) int64 {
	cr := strings.TrimPrefix(resp.Header.Get("Content-Range"), "bytes ")
	first, _, ok := strings.Cut(cr, "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil {
		return -1
	}
	return n
}
