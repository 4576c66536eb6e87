package hostagent

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

func TestStartDNS(t *testing.T) {
	on, off := true, false
	inst := func(enabled *bool) *store.Instance {
		y := &limayaml.LimaYAML{}
		y.HostResolver.Enabled = enabled
		y.HostResolver.Hosts = map[string]string{"limactl-e2e.test": "10.1.2.3"}
		return &store.Instance{Name: "dns.test", Config: y}
	}
	for _, c := range []struct {
		enabled *bool
		vmType  string
		want    bool
	}{
		{&on, limayaml.QEMU, true},
		{&off, limayaml.QEMU, false},
		{nil, limayaml.QEMU, false}, // FillDefault sets it; unset means off here
		{&on, limayaml.VZ, false},
		{&on, limayaml.WSL2, false},
	} {
		s, err := startDNS(inst(c.enabled), c.vmType)
		if err != nil {
			t.Fatal(err)
		}
		if (s != nil) != c.want {
			t.Errorf("enabled %v, %s: server %v", c.enabled, c.vmType, s != nil)
		}
		if s == nil {
			continue
		}
		a := &agent{dns: s}
		// The guest's view: the gateway, its own name and the user's entry, over UDP.
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.UDPPort())))
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for name, want := range map[string]string{
			"host.lima.internal": "192.168.5.2",
			"lima-dns-test":      "192.168.5.15",
			"limactl-e2e.test":   "10.1.2.3",
		} {
			got, err := r.LookupHost(ctx, name)
			if err != nil || !slices.Equal(got, []string{want}) {
				t.Errorf("%s: %v %v, want %s", name, got, err, want)
			}
		}
		cancel()
		a.closeDNS()
		a.closeDNS()
		if a.dns != nil {
			t.Error("closeDNS left the server")
		}
	}
}
