package version

import (
	"runtime/debug"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"v2.2.0":                 "2.2.0",
		"v2.2.0-153-g183a60d7":   "2.2.0-153-g183a60d7",
		"v2.2.0-153-g183a60d7.m": "2.2.0-153-g183a60d7.m",
		"2.2.0-dev":              "2.2.0-dev",
		"0.0.0-12-g2508143":      "0.0.0-12-g2508143",
		"2508143":                "0.0.0-2508143",
		"2508143-dirty":          "0.0.0-2508143-dirty",
		"":                       Unknown,
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromBuildInfo(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install at a tag", debug.BuildInfo{Main: debug.Module{Version: "v2.3.0"}}, "2.3.0"},
		{"go build in a checkout", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206045000-2508143abcde+dirty"}},
			"0.0.0-20261206045000-2508143abcde+dirty"},
		{"devel with vcs stamp", debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "2508143abcdef0123456789", "vcs.time", "2026-12-06T04:50:00Z", "vcs.modified", "true")},
			"0.0.0-20261206045000-2508143abcde+dirty"},
		{"devel clean", debug.BuildInfo{Settings: vcs("vcs.revision", "2508143abcde", "vcs.time", "2026-12-06T04:50:00Z")},
			"0.0.0-20261206045000-2508143abcde"},
		{"nothing known", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Unknown},
	} {
		if got := FromBuildInfo(&tc.bi); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
