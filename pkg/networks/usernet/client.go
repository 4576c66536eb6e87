package usernet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxAPIResponse bounds what is read from the usernet API (the lease table of a /16 is ~3 MiB).
const maxAPIResponse = 8 << 20

// Leases asks the usernet process listening on endpoint for its DHCP leases (IP -> MAC).
func Leases(ctx context.Context, endpoint string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", endpoint)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://usernet/services/dhcp/leases", http.NoBody)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("usernet leases: %s", res.Status)
	}
	var leases map[string]string
	if err := json.NewDecoder(io.LimitReader(res.Body, maxAPIResponse)).Decode(&leases); err != nil {
		return nil, fmt.Errorf("usernet leases: %w", err)
	}
	return leases, nil
}

// LeasedIP returns the address leased to mac, or nil.
func LeasedIP(leases map[string]string, mac string) net.IP {
	want, err := net.ParseMAC(mac)
	if err != nil {
		return nil
	}
	for ip, m := range leases {
		if hw, err := net.ParseMAC(m); err == nil && strings.EqualFold(hw.String(), want.String()) {
			return net.ParseIP(ip)
		}
	}
	return nil
}
