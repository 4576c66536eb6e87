package hostagent

import (
	"context"
	"errors"
	"net"
	"testing"
)

type fakeHostResolver struct{ *net.Resolver }

func (*fakeHostResolver) LookupIP(context.Context, string, string) ([]net.IP, error) {
	return []net.IP{net.ParseIP("203.0.113.9")}, nil
}

func TestInternalInstance(t *testing.T) {
	for host, want := range map[string]string{
		"lima-vm2.internal":   "vm2",
		"lima-vm2.internal.":  "vm2",
		"LIMA-VM2.INTERNAL.":  "vm2",
		"lima-a.b.internal":   "a.b", // instance names may hold dots
		"lima-.internal":      "",
		"vm2.internal":        "",
		"lima-vm2.internal.x": "",
		"lima-../x.internal":  "",
		"host.lima.internal.": "",
	} {
		got, ok := internalInstance(host)
		if got != want || ok != (want != "") {
			t.Errorf("internalInstance(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

func TestUsernetResolver(t *testing.T) {
	macs := map[string]string{"vm1/user-v2": "52:55:55:00:00:01", "vm2/lab": "52:55:55:00:00:02", "vm3/user-v2": "52:55:55:00:00:03"}
	leases := map[string]map[string]string{
		"user-v2": {"192.168.104.3": "52:55:55:00:00:01"},
		"lab":     {"10.1.0.7": "52:55:55:00:00:02"},
	}
	r := &usernetResolver{
		Resolver: &fakeHostResolver{Resolver: net.DefaultResolver},
		nets:     []string{"user-v2", "lab"},
		leases: func(_ context.Context, nw string) (map[string]string, error) {
			if l, ok := leases[nw]; ok {
				return l, nil
			}
			return nil, errors.New("not running")
		},
		macOf: func(inst, nw string) (string, bool) { m, ok := macs[inst+"/"+nw]; return m, ok },
	}
	ctx := context.Background()
	for host, want := range map[string]string{
		"lima-vm1.internal.": "192.168.104.3",
		"lima-vm2.internal.": "10.1.0.7",
		"example.com.":       "203.0.113.9", // passed on to the host's resolver
	} {
		ips, err := r.LookupIP(ctx, "ip", host)
		if err != nil || len(ips) != 1 || ips[0].String() != want {
			t.Errorf("LookupIP(%s) = %v, %v; want %s", host, ips, err, want)
		}
	}
	// vm3 has no lease yet, vm4 is on no shared network: not found, and never asked upstream.
	for _, host := range []string{"lima-vm3.internal.", "lima-vm4.internal."} {
		ips, err := r.LookupIP(ctx, "ip", host)
		var dnsErr *net.DNSError
		if len(ips) != 0 || !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("LookupIP(%s) = %v, %v; want not found", host, ips, err)
		}
	}
}
