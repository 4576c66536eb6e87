package downloader

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// localPathOf turns a local path or file:// URL into a file name, expanding a leading ~.
func localPathOf(location string) (string, error) {
	p := location
	if strings.HasPrefix(location, "file://") {
		u, err := url.Parse(location)
		if err != nil {
			return "", fmt.Errorf("invalid file URL %q: %w", location, err)
		}
		p = u.Path
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, p[1:])
	}
	return filepath.Abs(p)
}

// copyLocal copies a local file to localPath, checking the digest and decompressing if asked.
func copyLocal(ctx context.Context, localPath, location string, o *options) (*Result, error) {
	src, err := localPathOf(location)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", describe(o, location), err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a file", src)
	}
	res := &Result{Status: StatusDownloaded, LastModified: st.ModTime()}
	if o.digest != nil {
		got, err := hashFile(src, *o.digest)
		if err != nil {
			return nil, err
		}
		if got != *o.digest {
			return nil, mismatchError(src, *o.digest, got)
		}
		res.ValidatedDigest = true
	}
	if err := populate(ctx, localPath, src, location, o); err != nil {
		return nil, err
	}
	return res, nil
}

// cloneOrCopy copies src to dst atomically. The copy is a reflink where the filesystem supports
// it (clonefile on macOS; copy_file_range on Linux, which clones on btrfs and XFS). It is never a
// hard link: the destination becomes a VM disk that is written to, which must not change src.
func cloneOrCopy(ctx context.Context, src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if tryClone(src, dst) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFileAtomic(dst, func(f *os.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// *os.File to *os.File: io.Copy uses copy_file_range/sendfile where available.
		if _, err := io.Copy(f, in); err != nil {
			return fmt.Errorf("cannot copy %s to %s: %w", src, dst, err)
		}
		return nil
	})
}
