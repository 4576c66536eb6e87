package downloader

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/limayaml"
)

// NerdctlArchive makes the first of archives listed for arch available on the host, digest
// checked, and returns its path: the download cache's copy for an http(s) location (downloaded,
// or resumed, when it is not cached yet), the file itself for a local one. opts are passed to
// Download (typically WithCache and WithProgress). Archives with no arch match any arch. The
// returned File is the entry used, with the sha256 digest of the file filled in when the entry
// gives none.
func NerdctlArchive(ctx context.Context, archives []limayaml.File, arch string, opts ...Opt) (limayaml.File, string, error) {
	var failures []string
	candidates := limayaml.ArchivesFor(archives, arch)
	for _, f := range candidates {
		p, err := nerdctlArchive(ctx, f, arch, opts)
		if err == nil && f.Digest == "" {
			// The guest tells an archive it has installed from a new one by its digest.
			var d Digest
			if d, err = hashFile(p, Digest{Algo: "sha256"}); err == nil {
				f.Digest = d.String()
			}
		}
		if err == nil {
			return f, p, nil
		}
		if ctx.Err() != nil {
			return limayaml.File{}, "", err
		}
		logrus.Warnf("Cannot use the nerdctl archive %s: %v", f.Location, err)
		failures = append(failures, fmt.Sprintf("  - %s: %v", f.Location, err))
	}
	if len(candidates) == 0 {
		return limayaml.File{}, "", fmt.Errorf("containerd.archives has no nerdctl-full archive for arch %s: add one, or set containerd.system and containerd.user to false", arch)
	}
	return limayaml.File{}, "", fmt.Errorf("cannot download the nerdctl archive for %s; tried %d location(s):\n%s\ncheck the network and containerd.archives, or set containerd.system and containerd.user to false",
		arch, len(candidates), strings.Join(failures, "\n"))
}

func nerdctlArchive(ctx context.Context, f limayaml.File, arch string, opts []Opt) (string, error) {
	log := logrus.WithFields(logrus.Fields{"location": f.Location, "arch": arch})
	if f.Digest != "" {
		log = log.WithField("digest", f.Digest)
	}
	if IsLocal(f.Location) {
		p, err := localPathOf(f.Location)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		if f.Digest != "" {
			want, err := ParseDigest(f.Digest)
			if err != nil {
				return "", err
			}
			got, err := hashFile(p, want)
			if err != nil {
				return "", err
			}
			if got != want {
				return "", fmt.Errorf("%w for %s: expected %s, got %s; fix the digest in containerd.archives or replace the file", ErrDigestMismatch, p, want, got)
			}
		}
		log.Info("Using the local nerdctl archive")
		return p, nil
	}
	o := append(append([]Opt{}, opts...), WithExpectedDigest(f.Digest), WithDecompress(false), WithDescription("the nerdctl archive"))
	if res, err := Cached(f.Location, o...); err == nil && res.CachePath != "" {
		return res.CachePath, nil
	}
	log.Info("Attempting to download the nerdctl archive")
	res, err := Download(ctx, "", f.Location, o...)
	if err != nil {
		return "", err
	}
	if res.CachePath == "" {
		return "", fmt.Errorf("%s: the download cache is disabled; download the archive and list its local path in containerd.archives", f.Location)
	}
	log.Infof("Using cache %q", res.CachePath)
	return res.CachePath, nil
}
