package downloader

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compression names a supported compression format.
type compression string

const (
	noCompression compression = ""
	gzipFormat    compression = "gzip"
	bzip2Format   compression = "bzip2"
	xzFormat      compression = "xz"
	zstdFormat    compression = "zstd"
)

var magics = []struct {
	c     compression
	magic []byte
}{
	{gzipFormat, []byte{0x1f, 0x8b}},
	{bzip2Format, []byte("BZh")},
	{xzFormat, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{zstdFormat, []byte{0x28, 0xb5, 0x2f, 0xfd}},
}

// compressionByExt recognises the compression from the extension of a URL or path.
func compressionByExt(location string) compression {
	p := location
	if u, err := url.Parse(location); err == nil && u.Scheme != "" {
		p = u.Path
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".gz":
		return gzipFormat
	case ".bz2":
		return bzip2Format
	case ".xz":
		return xzFormat
	case ".zst", ".zstd":
		return zstdFormat
	}
	return noCompression
}

// compressionByMagic recognises the compression from the first bytes of a stream.
func compressionByMagic(head []byte) compression {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.c
		}
	}
	return noCompression
}

// detectCompression returns the compression of r (by location's extension, else by magic) and a
// reader that still yields every byte of r.
func detectCompression(location string, r io.Reader) (compression, io.Reader) {
	if c := compressionByExt(location); c != noCompression {
		return c, r
	}
	br := bufio.NewReaderSize(r, 1<<20)
	head, _ := br.Peek(8)
	return compressionByMagic(head), br
}

// decompressor wraps r in the decoder for c.
func decompressor(c compression, r io.Reader) (io.ReadCloser, error) {
	switch c {
	case gzipFormat:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("not a valid gzip file: %w", err)
		}
		return zr, nil
	case bzip2Format:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case xzFormat:
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("not a valid xz file: %w", err)
		}
		return io.NopCloser(xr), nil
	case zstdFormat:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(0))
		if err != nil {
			return nil, fmt.Errorf("not a valid zstd file: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(r), nil
}
