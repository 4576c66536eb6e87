package identifiers

import (
	"strings"
	"testing"
)

func TestValidateInstName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"debian-12", true},
		{"ubuntu-24.04", true},
		{"a_b", true},
		{"A1", true},
		{strings.Repeat("a", MaxInstNameLen), true},
		{strings.Repeat("a", MaxInstNameLen+1), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"a--b", false},
		{"a/b", false},
		{"a b", false},
		{"_images", false},
		{".hidden", false},
		{"foo.yaml", false},
		{"foo.YML", false},
		{"föö", false},
	}
	for _, c := range cases {
		err := ValidateInstName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateInstName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Validate("data"); err != nil {
		t.Fatal(err)
	}
	if err := Validate("foo.yaml"); err != nil {
		t.Fatalf("Validate must not apply the instance-only suffix rule: %v", err)
	}
	if err := Validate("a..b"); err == nil {
		t.Fatal("a..b must be rejected")
	}
}
