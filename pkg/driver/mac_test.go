package driver

import "testing"

func TestMACAddress(t *testing.T) {
	// The MAC is 52:55:55 and the first three bytes of sha256(instanceDir); changing the derivation
	// would give every existing guest a new address (and a new DHCP lease).
	for _, tc := range []struct{ dir, want string }{
		{"/home/u/.lima/a", "52:55:55:3a:69:df"},
		{"/Users/u/.lima/vm1", "52:55:55:90:e9:65"},
	} {
		if got := MACAddress(tc.dir); got != tc.want {
			t.Errorf("MACAddress(%q) = %q, want %q", tc.dir, got, tc.want)
		}
	}
	if a, b := MACAddress("/home/u/.lima/a"), MACAddress("/home/u/.lima/b"); a == b {
		t.Errorf("two instances share the MAC %s", a)
	}
}
