//go:build !windows

package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/limactl/limactl/pkg/networks/usernet"
)

// endpoint is a fake NIC: a QEMU stream connection to the switch.
type endpoint struct {
	t    *testing.T
	conn net.Conn
	mac  net.HardwareAddr
}

func (e *endpoint) send(f []byte) {
	e.t.Helper()
	hdr := make([]byte, 4)
	binary.BigEndian.PutUint32(hdr, uint32(len(f)))
	if _, err := e.conn.Write(append(hdr, f...)); err != nil {
		e.t.Fatal(err)
	}
}

// recv returns the next frame for which match is true, skipping others.
func (e *endpoint) recv(match func([]byte) bool) []byte {
	e.t.Helper()
	_ = e.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(e.conn, hdr); err != nil {
			e.t.Fatal(err)
		}
		f := make([]byte, binary.BigEndian.Uint32(hdr))
		if _, err := io.ReadFull(e.conn, f); err != nil {
			e.t.Fatal(err)
		}
		if match(f) {
			return f
		}
	}
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// udpFrame is a broadcast Ethernet/IPv4/UDP frame from mac, 0.0.0.0:68 to 255.255.255.255:67.
func udpFrame(mac net.HardwareAddr, payload []byte) []byte {
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], 68)
	binary.BigEndian.PutUint16(udp[2:], 67)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	copy(ip[16:], net.IPv4bcast.To4())
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	eth := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac...)
	eth = append(eth, 0x08, 0x00)
	return append(append(eth, ip...), udp...)
}

// dhcpReply parses a DHCP reply to xid out of an Ethernet frame, or nil.
func dhcpReply(f []byte, xid dhcpv4.TransactionID) *dhcpv4.DHCPv4 {
	if len(f) < 14+20+8 || f[12] != 0x08 || f[13] != 0x00 || f[14+9] != 17 {
		return nil
	}
	ihl := int(f[14]&0x0f) * 4
	udp := f[14+ihl:]
	if len(udp) < 8 || binary.BigEndian.Uint16(udp[2:]) != 68 {
		return nil
	}
	m, err := dhcpv4.FromBytes(udp[8:])
	if err != nil || m.TransactionID != xid {
		return nil
	}
	return m
}

// lease runs DISCOVER/OFFER, REQUEST/ACK and returns the address acknowledged.
func (e *endpoint) lease() net.IP {
	e.t.Helper()
	disc, err := dhcpv4.NewDiscovery(e.mac)
	if err != nil {
		e.t.Fatal(err)
	}
	e.send(udpFrame(e.mac, disc.ToBytes()))
	var offer *dhcpv4.DHCPv4
	e.recv(func(f []byte) bool { offer = dhcpReply(f, disc.TransactionID); return offer != nil })
	req, err := dhcpv4.NewRequestFromOffer(offer)
	if err != nil {
		e.t.Fatal(err)
	}
	e.send(udpFrame(e.mac, req.ToBytes()))
	var ack *dhcpv4.DHCPv4
	e.recv(func(f []byte) bool { ack = dhcpReply(f, req.TransactionID); return ack != nil })
	if ack.MessageType() != dhcpv4.MessageTypeAck {
		e.t.Fatalf("DHCP reply %v, want ACK", ack.MessageType())
	}
	return ack.YourIPAddr
}

// TestServeTwoEndpoints runs the switch in-process: two fake NICs get DHCP leases (one static), the
// lease table names both, and a frame from one reaches the other.
func TestServeTwoEndpoints(t *testing.T) {
	dir, err := os.MkdirTemp("", "un")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_, subnet, _ := net.ParseCIDR("192.168.104.0/24")
	qsock, ep := filepath.Join(dir, "q.sock"), filepath.Join(dir, "ep.sock")
	macA, _ := net.ParseMAC("52:55:55:00:00:0a")
	macB, _ := net.ParseMAC("52:55:55:00:00:0b")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{
			Subnet: subnet, QEMUSocket: qsock, Endpoint: ep, Ready: ready,
			Leases: map[string]string{"192.168.104.50": macB.String()},
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	dial := func(mac net.HardwareAddr) *endpoint {
		c, err := net.Dial("unix", qsock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &endpoint{t: t, conn: c, mac: mac}
	}
	a, b := dial(macA), dial(macB)
	ipA, ipB := a.lease(), b.lease()
	if !subnet.Contains(ipA) || ipA.Equal(usernet.GatewayIP(subnet)) {
		t.Errorf("A leased %v", ipA)
	}
	if ipB.String() != "192.168.104.50" {
		t.Errorf("B leased %v, want its static lease 192.168.104.50", ipB)
	}
	leases, err := usernet.Leases(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	if got := usernet.LeasedIP(leases, macA.String()); !got.Equal(ipA) {
		t.Errorf("lease table %v: A has %v, want %v", leases, got, ipA)
	}
	if got := usernet.LeasedIP(leases, macB.String()); !got.Equal(ipB) {
		t.Errorf("lease table %v: B has %v, want %v", leases, got, ipB)
	}

	// A frame from A to B's MAC (an experimental ethertype) crosses the switch.
	payload := []byte("hello from A")
	f := append(append(append([]byte{}, macB...), macA...), 0x88, 0xb5)
	a.send(append(f, payload...))
	got := b.recv(func(f []byte) bool { return f[12] == 0x88 && f[13] == 0xb5 })
	if !bytes.Equal(got[6:12], macA) || !bytes.HasPrefix(got[14:], payload) {
		t.Errorf("B received %x", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{qsock, ep} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is left behind: %v", p, err)
		}
	}
}
