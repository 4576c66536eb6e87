package downloader

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/lockutil"
)

// File names inside a cache entry.
const (
	fileURL       = "url"
	fileData      = "data"
	fileTime      = "time"
	fileType      = "type"
	fileETag      = "etag"
	filePartial   = "data.partial"
	fileValidator = "data.partial.validator"
	fileLock      = "lock"
	fileStamp     = "data.stamp" // size and mtime of data when its digests were last verified
	digestSuffix  = ".digest"
)

// CacheDir is the default cache root: $LIMA_CACHE_HOME, or os.UserCacheDir()/lima.
func CacheDir() (string, error) {
	if d := envknob.LimaCacheHome.Get(); d != "" {
		return filepath.Abs(d)
	}
	ucd, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the user cache directory (set LIMA_CACHE_HOME): %w", err)
	}
	return filepath.Join(ucd, "lima"), nil
}

func entriesDir(cacheDir string) string {
	return filepath.Join(cacheDir, "download", "by-url-sha256")
}

// entry is one URL's directory in the cache.
type entry struct{ dir string }

func entryFor(cacheDir, url string) entry {
	sum := sha256.Sum256([]byte(url))
	return entry{dir: filepath.Join(entriesDir(cacheDir), hex.EncodeToString(sum[:]))}
}

func (e entry) path(name string) string { return filepath.Join(e.dir, name) }

func (e entry) digestPath(algo string) string { return e.path(algo + digestSuffix) }

// lock creates the entry and takes its lock. If Prune removed the entry while we waited, it is
// created again and locked anew.
func (e entry) lock(url string) (func() error, error) {
	for {
		if err := os.MkdirAll(e.dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create the cache entry %s: %w", e.dir, err)
		}
		unlock, err := lockutil.Lock(e.path(fileLock))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(e.path(fileLock)); err != nil {
			_ = unlock()
			continue
		}
		if err := writeIfChanged(e.path(fileURL), url); err != nil {
			_ = unlock()
			return nil, err
		}
		return unlock, nil
	}
}

// result describes the cached data as a Result.
func (e entry) result(status Status, validated bool) *Result {
	r := &Result{Status: status, CachePath: e.path(fileData), ValidatedDigest: validated}
	if b, err := os.ReadFile(e.path(fileTime)); err == nil {
		if t, err := http.ParseTime(strings.TrimSpace(string(b))); err == nil {
			r.LastModified = t
		}
	}
	if b, err := os.ReadFile(e.path(fileType)); err == nil {
		r.ContentType = strings.TrimSpace(string(b))
	}
	return r
}

// storedDigest returns the content of the entry's digest file for algo ("" when missing).
func (e entry) storedDigest(algo string) string {
	b, err := os.ReadFile(e.digestPath(algo))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// removeDigests deletes every <algo>.digest file and the stamp (the data they describe is going away).
func (e entry) removeDigests() error {
	matches, _ := filepath.Glob(filepath.Join(e.dir, "*"+digestSuffix))
	matches = append(matches, e.path(fileStamp))
	var errs []error
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ErrNotCached is returned by Cached when the URL has no complete cache entry.
var ErrNotCached = errors.New("not in the download cache")

// Cached returns the cache entry of url without downloading anything. With WithExpectedDigest,
// the entry must match it (see checkDigest: the stored digest is compared, and the data is hashed
// again when it has no digest for that algorithm or changed since it was verified). WithCacheDir
// selects another cache.
func Cached(url string, opts ...Opt) (*Result, error) {
	o, err := newOptions(append([]Opt{WithCache()}, opts...))
	if err != nil {
		return nil, err
	}
	if o.cacheDir == "" {
		return nil, fmt.Errorf("%s: %w (the cache is disabled)", url, ErrNotCached)
	}
	e := entryFor(o.cacheDir, url)
	if _, err := os.Stat(e.path(fileData)); err != nil {
		return nil, fmt.Errorf("%s: %w", url, ErrNotCached)
	}
	if o.digest == nil {
		return e.result(StatusUsedCache, false), nil
	}
	unlock, err := e.lock(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlock() }() // closing the lock file releases the lock; nothing to do if that fails
	ok, err := e.checkDigest(*o.digest)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: the cached copy does not have digest %s: %w", url, o.digest, ErrNotCached)
	}
	return e.result(StatusUsedCache, true), nil
}

// checkDigest reports whether the cached data has digest want. The stored <algo>.digest file is
// trusted only while the data has the size and modification time recorded in the stamp when it
// was verified; otherwise (no digest for want's algorithm, no stamp, a file changed on disk) the
// data is hashed again, and on a match the digest and a new stamp are written.
func (e entry) checkDigest(want Digest) (bool, error) {
	cur, err := statStamp(e.path(fileData))
	if err != nil {
		return false, err
	}
	if stored := e.storedDigest(want.Algo); stored != "" {
		if rec, ok := e.readStamp(); ok && rec == cur {
			return stored == want.String(), nil
		}
		logrus.Debugf("%s changed since its digest was recorded (or has no stamp); hashing it again", e.path(fileData))
	}
	got, err := hashFile(e.path(fileData), want)
	if err != nil {
		return false, err
	}
	if got != want {
		return false, nil
	}
	return true, e.writeDigest(want, cur)
}

// recordDigest records that data, just verified as it was downloaded, has digest d.
func (e entry) recordDigest(d Digest) error {
	cur, err := statStamp(e.path(fileData))
	if err != nil {
		return err
	}
	return e.writeDigest(d, cur)
}

// writeDigest writes <algo>.digest, then the stamp st (the data's size and mtime when d was
// verified). A crash between the two leaves a digest without a matching stamp: hashed again.
func (e entry) writeDigest(d Digest, st stamp) error {
	if err := writeAtomic(e.digestPath(d.Algo), []byte(d.String()+"\n")); err != nil {
		return err
	}
	return writeAtomic(e.path(fileStamp), []byte(st.String()+"\n"))
}

// stamp identifies one version of the data file on disk, cheaply: a change that keeps both the
// size and the modification time is not noticed, anything else is.
type stamp struct {
	size  int64
	mtime int64 // Unix nanoseconds
}

func (s stamp) String() string { return fmt.Sprintf("size=%d mtime=%d", s.size, s.mtime) }

func statStamp(path string) (stamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{size: st.Size(), mtime: st.ModTime().UnixNano()}, nil
}

// readStamp reads the stamp file; ok is false when it is missing or unreadable.
func (e entry) readStamp() (s stamp, ok bool) {
	b, err := os.ReadFile(e.path(fileStamp))
	if err != nil {
		return stamp{}, false
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "size=%d mtime=%d", &s.size, &s.mtime); err != nil {
		return stamp{}, false
	}
	return s, true
}

// CacheEntry describes one URL in the download cache.
type CacheEntry struct {
	Dir          string    // the entry directory
	URL          string    // "" if the url file is missing
	Size         int64     // size of data (or of data.partial when Partial)
	Partial      bool      // only an interrupted download is present
	LastModified time.Time // from the time file
	Digests      []string  // the contents of the <algo>.digest files
}

// CacheEntries lists the entries of the default cache (or of WithCacheDir's), in directory order.
func CacheEntries(opts ...Opt) ([]CacheEntry, error) {
	o, err := newOptions(append([]Opt{WithCache()}, opts...))
	if err != nil {
		return nil, err
	}
	return listEntries(o.cacheDir)
}

func listEntries(cacheDir string) ([]CacheEntry, error) {
	if cacheDir == "" {
		return nil, nil
	}
	dirents, err := os.ReadDir(entriesDir(cacheDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list the download cache: %w", err)
	}
	var out []CacheEntry
	for _, d := range dirents {
		if !d.IsDir() {
			continue
		}
		e := entry{dir: filepath.Join(entriesDir(cacheDir), d.Name())}
		ce := CacheEntry{Dir: e.dir}
		if b, err := os.ReadFile(e.path(fileURL)); err == nil {
			ce.URL = strings.TrimSpace(string(b))
		}
		if st, err := os.Stat(e.path(fileData)); err == nil {
			ce.Size = st.Size()
		} else if st, err := os.Stat(e.path(filePartial)); err == nil {
			ce.Size, ce.Partial = st.Size(), true
		}
		ce.LastModified = e.result(StatusUsedCache, false).LastModified
		matches, _ := filepath.Glob(filepath.Join(e.dir, "*"+digestSuffix))
		for _, m := range matches {
			if b, err := os.ReadFile(m); err == nil {
				ce.Digests = append(ce.Digests, strings.TrimSpace(string(b)))
			}
		}
		out = append(out, ce)
	}
	return out, nil
}

// Prune deletes the cache entries whose URL keep does not accept (every entry when keep is nil)
// and returns them. An entry locked by a download in progress is skipped with an error in the
// joined result. With keep nil, the emptied download directory is removed as well.
func Prune(keep func(url string) bool, opts ...Opt) ([]CacheEntry, error) {
	o, err := newOptions(append([]Opt{WithCache()}, opts...))
	if err != nil {
		return nil, err
	}
	entries, err := listEntries(o.cacheDir)
	if err != nil {
		return nil, err
	}
	var removed []CacheEntry
	var errs []error
	for _, ce := range entries {
		if keep != nil && ce.URL != "" && keep(ce.URL) {
			continue
		}
		unlock, err := lockutil.TryLock(filepath.Join(ce.Dir, fileLock))
		if err != nil {
			errs = append(errs, fmt.Errorf("kept %s: a download is in progress (%w)", displayURL(ce), err))
			continue
		}
		err = os.RemoveAll(ce.Dir)
		_ = unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot delete %s: %w", ce.Dir, err))
			continue
		}
		removed = append(removed, ce)
	}
	if keep == nil && len(errs) == 0 && o.cacheDir != "" {
		if err := os.RemoveAll(filepath.Join(o.cacheDir, "download")); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

func displayURL(ce CacheEntry) string {
	if ce.URL != "" {
		return ce.URL
	}
	return ce.Dir
}
