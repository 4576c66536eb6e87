package downloader

import (
	"context"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// downloadDirect streams location into localPath without the cache, checking the digest and
// decompressing on the fly. Nothing is left at localPath unless everything succeeded.
func downloadDirect(ctx context.Context, localPath, location string, o *options) (*Result, error) {
	req, err := newRequest(ctx, location)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot download %s: %w", describe(o, location), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot download %s: the server answered %s", describe(o, location), resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(localPath), 0o755); err != nil {
		return nil, err
	}
	var h hash.Hash
	var body io.Reader = &ctxReader{ctx: ctx, r: resp.Body}
	if bar := newProgressBar(o, resp.ContentLength, 0); bar != nil {
		body = io.TeeReader(body, bar)
		defer bar.finish()
	}
	var hashing *fanout
	if o.digest != nil {
		h = o.digest.newHash()
		hashing = newFanout(h) // hash on another goroutine
		defer hashing.Close()
		body = io.TeeReader(body, hashing)
	}
	err = writeFileAtomic(localPath, func(f *os.File) error {
		c, r := noCompression, body
		if o.decompress {
			c, r = detectCompression(location, body)
		}
		if err := copyMaybeDecompressing(f, c, r, location); err != nil {
			return err
		}
		if h != nil {
			if err := hashing.Close(); err != nil {
				return err
			}
			if got := o.digest.sum(h); got != *o.digest {
				return mismatchError(location, *o.digest, got)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Status: StatusDownloaded, ContentType: resp.Header.Get("Content-Type"), ValidatedDigest: h != nil}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		res.LastModified = t
	}
	return res, nil
}

func copyMaybeDecompressing(f *os.File, c compression, r io.Reader, location string) error {
	buf := make([]byte, copyBufferSize)
	if c == noCompression {
		_, err := io.CopyBuffer(writerOnly{f}, r, buf)
		return err
	}
	dr, err := decompressor(c, r)
	if err != nil {
		return err
	}
	defer dr.Close()
	w := &sparseWriter{f: f}
	if _, err := io.CopyBuffer(w, dr, buf); err != nil {
		return fmt.Errorf("cannot decompress (%s) %s: %w", c, location, err)
	}
	// Read whatever follows the compressed stream too, so the digest covers every byte.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return w.finish()
}
