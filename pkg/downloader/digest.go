package downloader

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// Digest is an expected or computed content digest such as "sha256:<hex>".
type Digest struct {
	Algo string // sha256, sha384 or sha512
	Hex  string // lower-case
}

var digestSizes = map[string]int{"sha256": sha256.Size, "sha384": sha512.Size384, "sha512": sha512.Size}

// ParseDigest parses "<algo>:<hex>".
func ParseDigest(s string) (Digest, error) {
	algo, hexPart, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Digest{}, fmt.Errorf("invalid digest %q: want <algorithm>:<hex>, e.g. sha256:…", s)
	}
	size, known := digestSizes[algo]
	if !known {
		return Digest{}, fmt.Errorf("invalid digest %q: unsupported algorithm %q (use sha256, sha384 or sha512)", s, algo)
	}
	hexPart = strings.ToLower(hexPart)
	if b, err := hex.DecodeString(hexPart); err != nil || len(b) != size {
		return Digest{}, fmt.Errorf("invalid digest %q: want %d hex digits after %q", s, 2*size, algo+":")
	}
	return Digest{Algo: algo, Hex: hexPart}, nil
}

func (d Digest) String() string { return d.Algo + ":" + d.Hex }

func (d Digest) newHash() hash.Hash {
	switch d.Algo {
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return sha256.New()
}

func (d Digest) sum(h hash.Hash) Digest {
	return Digest{Algo: d.Algo, Hex: hex.EncodeToString(h.Sum(nil))}
}

// mismatchError reports a digest mismatch.
func mismatchError(what string, want, got Digest) error {
	return fmt.Errorf("%w for %s: expected %s, got %s; the file was not kept (check the digest in the template, or whether the file changed upstream)",
		ErrDigestMismatch, what, want, got)
}

// hashFile computes the digest of the file at path with want's algorithm.
func hashFile(path string, want Digest) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	h := want.newHash()
	if _, err := io.Copy(h, f); err != nil {
		return Digest{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return want.sum(h), nil
}
