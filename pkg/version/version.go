// Package version works out the semantic version limactl and the guest agent report (`limactl
// --version`, `limactl info`, an instance's lima-version file), whichever way they were built:
// `make` passes `git describe` through -ldflags; `go build` and `go install` leave it to the
// module version and VCS stamp that Go records in the binary.
package version

import (
	"regexp"
	"runtime/debug"
	"strings"
)

// Unknown is reported when neither -ldflags nor the build info says anything.
const Unknown = "0.0.0-dev"

var semverRE = regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Resolve returns the version to report. set is the value -ldflags gave (empty when it gave none).
func Resolve(set string) string {
	if set != "" {
		return Normalize(set)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Unknown
	}
	return FromBuildInfo(bi)
}

// Normalize turns a `git describe` string into a semantic version: "v2.2.0-3-gabc1234.m" becomes
// "2.2.0-3-gabc1234.m". Anything that is still no semantic version (a bare commit hash) is put
// after "0.0.0-", so that it sorts before every release.
func Normalize(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if s == "" {
		return Unknown
	}
	if semverRE.MatchString(s) {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, s)
	return "0.0.0-" + s
}

// FromBuildInfo reads the version Go recorded: the module version (`go install ...@v2.3.0` gives
// "2.3.0"; a build from a checkout gives a pseudo-version such as
// "0.0.0-20261206045000-2508143abcde+dirty"), else one made the same way from the VCS stamp.
func FromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return Normalize(v)
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return Unknown
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	// vcs.time is RFC 3339 in UTC ("2026-12-06T04:50:00Z"); a pseudo-version wants its digits.
	stamp := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, when)
	if len(stamp) != 14 {
		stamp = "0"
	}
	v := "0.0.0-" + stamp + "-" + rev
	if modified {
		v += "+dirty"
	}
	return v
}
