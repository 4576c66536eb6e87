package copytool

import (
	"runtime"
	"testing"
)

func TestParseArg(t *testing.T) {
	tests := []struct {
		arg     string
		want    Location
		wantErr bool
	}{
		{"vm:/etc/hosts", Location{Instance: "vm", Path: "/etc/hosts"}, false},
		{"vm:", Location{Instance: "vm", Path: ""}, false},
		{"my-vm.2:a:b", Location{Instance: "my-vm.2", Path: "a:b"}, false},
		{"file.txt", Location{Path: "file.txt"}, false},
		{"./a:b", Location{Path: "./a:b"}, false},
		{"/abs/a:b", Location{Path: "/abs/a:b"}, false},
		{"dir/vm:x", Location{Path: "dir/vm:x"}, false},
		{"bad name:x", Location{}, true},
		{":x", Location{}, true},
	}
	for _, tt := range tests {
		got, err := ParseArg(tt.arg)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseArg(%q) = %+v, %v; want %+v, error %v", tt.arg, got, err, tt.want, tt.wantErr)
		}
	}
	if runtime.GOOS == "windows" {
		if got, _ := ParseArg(`C:\x`); !got.IsLocal() {
			t.Errorf(`ParseArg("C:\x") = %+v, want a host path`, got)
		}
	}
	if s := (Location{Instance: "vm", Path: "x"}).String(); s != "vm:x" {
		t.Errorf("String = %q", s)
	}
}
