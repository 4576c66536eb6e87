package limayaml

import "testing"

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v            string
		major, minor int
		want         bool
	}{
		{"13.4.1", 13, 0, true},
		{"13.4.1", 13, 5, false},
		{"13.5", 13, 5, true},
		{"14", 13, 5, true},
		{"13", 13, 1, false},
		{"12.7.6", 13, 0, false},
		{"15.0", 15, 0, true},
		{"", 13, 0, false},
		{"unknown", 13, 0, false},
	} {
		if got := VersionAtLeast(tc.v, tc.major, tc.minor); got != tc.want {
			t.Errorf("VersionAtLeast(%q, %d, %d) = %v, want %v", tc.v, tc.major, tc.minor, got, tc.want)
		}
	}
}
