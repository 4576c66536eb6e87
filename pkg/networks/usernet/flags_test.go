package usernet

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// parseFlags parses args with the flags AddTo defines.
func parseFlags(t *testing.T, args []string) Flags {
	t.Helper()
	var f Flags
	fs := pflag.NewFlagSet("usernet", pflag.ContinueOnError)
	f.AddTo(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return f
}

// TestFlagsArgs: what `limactl usernet` parses, lima-usernet parses back from Args.
func TestFlagsArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-p", "/n/usernet_n.pid", "-e", "/n/n_ep.sock", "--listen-qemu", "/n/n_qemu.sock", "--subnet", "10.9.0.0/16"},
		{"--endpoint=/n/n_ep.sock", "--listen-qemu=/n/n_qemu.sock", "--leases=10.0.0.5=52:55:55:00:00:01", "--mtu=9000"},
		{},
	} {
		f := parseFlags(t, args)
		if diff := cmp.Diff(f, parseFlags(t, f.Args())); diff != "" {
			t.Errorf("%q: Args %q parse back differently (-want +got):\n%s", args, f.Args(), diff)
		}
	}
	f := parseFlags(t, []string{"-e", "/ep", "--listen-qemu", "/q"})
	want := []string{"--endpoint=/ep", "--listen-qemu=/q", "--subnet=192.168.104.0/24", "--mtu=1500"}
	if diff := cmp.Diff(want, f.Args()); diff != "" {
		t.Errorf("Args with the defaults (-want +got):\n%s", diff)
	}
}

func TestFlagsParse(t *testing.T) {
	base := []string{"-e", "/ep", "--listen-qemu", "/q"}
	f := parseFlags(t, append(base, "--subnet", "10.9.0.0/16", "--leases", "10.9.0.5=52:55:55:00:00:01,,10.9.0.6=52:55:55:00:00:02"))
	subnet, leases, err := f.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if subnet.String() != "10.9.0.0/16" {
		t.Errorf("subnet = %s", subnet)
	}
	if diff := cmp.Diff(map[string]string{"10.9.0.5": "52:55:55:00:00:01", "10.9.0.6": "52:55:55:00:00:02"}, leases); diff != "" {
		t.Errorf("leases (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{append(base, "--subnet", "fd00::/64"), "not an IPv4 CIDR"},
		{append(base, "--subnet", "10.0.0.1"), "not an IPv4 CIDR"},
		{[]string{"--listen-qemu", "/q"}, "are required"},
		{[]string{"-e", "/ep"}, "are required"},
		{append(base, "--leases", "10.0.0.5"), "not IP=MAC"},
		{append(base, "--leases", "host=52:55:55:00:00:01"), "not IP=MAC"},
		{append(base, "--leases", "10.0.0.5=nope"), "not IP=MAC"},
	} {
		f := parseFlags(t, tt.args)
		if _, _, err := f.Parse(); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: Parse error = %v, want %q", tt.args, err, tt.err)
		}
	}
}
