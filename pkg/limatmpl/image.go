package limatmpl

import (
	"fmt"
	"path"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/identifiers"
)

var imageURLRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\.(img|qcow2|raw|iso)(\.(gz|xz|bz2|zst|zstd))?$`)
})

// SeemsImageURL reports whether locator names a disk image rather than a template.
func SeemsImageURL(locator string) bool {
	return imageURLRE().MatchString(stripQuery(locator))
}

func stripQuery(locator string) string {
	if i := strings.IndexAny(locator, "?#"); i >= 0 && (SeemsHTTPURL(locator) || SeemsFileURL(locator)) {
		return locator[:i]
	}
	return locator
}

// archKeywords lists Lima's architecture names (as in pkg/limayaml; not imported so that this
// package builds on its own) with the words image file names use for each.
var archKeywords = []struct {
	arch  string
	words string
}{
	{"x86_64", "x86_64|amd64|x64"},
	{"aarch64", "aarch64|arm64"},
	{"armv7l", "armv7l|armv7|armhf"},
	{"riscv64", "riscv64"},
	{"ppc64le", "ppc64le|ppc64el"},
	{"s390x", "s390x"},
}

func archPattern(words string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|[^a-z0-9])(` + words + `)([^a-z0-9]|$)`)
}

// GuessImageArch guesses an image's architecture from keywords in its file name; it returns the
// host architecture when none is found.
func GuessImageArch(locator string) (arch string, guessed bool) {
	base := path.Base(stripQuery(locator))
	for _, k := range archKeywords {
		if archPattern(k.words).MatchString(base) {
			return k.arch, true
		}
	}
	return hostArch(), false
}

func hostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7l"
	default:
		return runtime.GOARCH
	}
}

// imageTemplate is the minimal template for a bare image locator.
func imageTemplate(locator string) []byte {
	arch, guessed := GuessImageArch(locator)
	if !guessed {
		logrus.Warnf("Cannot tell the architecture of image %q from its name; assuming the host's (%s).", locator, arch)
	}
	var b strings.Builder
	b.WriteString("# A minimal template made from a disk image locator.\n")
	if strings.Contains(strings.ToLower(path.Base(locator)), "freebsd") {
		b.WriteString("os: FreeBSD\n")
	}
	fmt.Fprintf(&b, "arch: %s\nimages:\n- location: %q\n  arch: %s\n", arch, locator, arch)
	return []byte(b.String())
}

var (
	compressionExtRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\.(gz|xz|bz2|zst|zstd)$`)
	})
	imageExtRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\.(img|qcow2|raw|iso)$`)
	})
	dateStampRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`[-_.]20[0-9]{6}([-_.][0-9]+)?([-_.]|$)`)
	})
	genericImageTags = []string{"genericcloud", "cloudimg", "cloudinit", "cloud", "nocloud", "generic", "openstack",
		"base", "disk", "image", "kvm", "latest", "minimal", "qemu", "uefi", "server", "daily", "release"}
)

// InstNameFromImageURL derives an instance name from an image file name, dropping the
// extensions, date stamps, generic words such as "cloudimg" or "genericcloud", and the host's
// own architecture: "debian-12-genericcloud-amd64-20240101.qcow2" becomes "debian-12" on an
// x86_64 host.
func InstNameFromImageURL(locator string) (string, error) {
	name := strings.ToLower(path.Base(stripQuery(locator)))
	name = compressionExtRE().ReplaceAllString(name, "")
	name = imageExtRE().ReplaceAllString(name, "")
	name = strings.TrimPrefix(name, "nocloud_")
	name = dateStampRE().ReplaceAllString(name, "$2")
	for _, tag := range genericImageTags {
		name = regexp.MustCompile(`[-_.]`+tag+`([-_.]|$)`).ReplaceAllString(name, "$1")
	}
	if arch, ok := GuessImageArch(locator); ok && arch == hostArch() {
		for _, k := range archKeywords {
			if k.arch == arch {
				name = regexp.MustCompile(`[-_.](`+k.words+`)([-_.]|$)`).ReplaceAllString(name, "$2")
			}
		}
	}
	name = strings.Trim(name, "-_.")
	if err := identifiers.ValidateInstName(name); err != nil {
		return "", fmt.Errorf("cannot derive an instance name from image %q (pass one with --name): %w", locator, err)
	}
	return name, nil
}
