package dns

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzServe feeds the handler arbitrary messages: it must not panic, and what it sends back must
// parse, carry the query's ID, and fit the transport's limit.
func FuzzServe(f *testing.F) {
	for _, q := range []struct {
		name string
		typ  dnsmessage.Type
	}{
		{"host.lima.internal.", dnsmessage.TypeA},
		{"alias2.test.", dnsmessage.TypeCNAME},
		{"example.com.", dnsmessage.TypeTXT},
		{"example.com.", dnsmessage.TypeAAAA},
		{"_sip._tcp.example.com.", dnsmessage.TypeSRV},
		{"2.5.168.192.in-addr.arpa.", dnsmessage.TypePTR},
		{"many.test.", dnsmessage.TypeA},
		{"host.lima.internal.", dnsmessage.TypeALL},
	} {
		f.Add(buildQuery(f, 0x1234, q.name, q.typ))
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}) // compression loop
	f.Add([]byte{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0})                    // a response
	f.Add([]byte{0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1})     // UPDATE
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 2, 1, '.', 0, 0, 1, 0, 1})
	f.Add([]byte{})

	r := testResolver()
	for i := range 100 {
		r.ips["many.test."] = append(r.ips["many.test."], []byte{10, 0, 0, byte(i)})
	}
	hosts := testHosts()
	hosts["Odd..Name"] = "1.2.3.4"
	hosts["dot."] = "."
	h := newHandler(Options{IPv6: true, StaticHosts: hosts, Resolver: r, Upstreams: []string{}})
	f.Fuzz(func(t *testing.T, query []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, limit := range []int{maxUDPReply, maxTCPReply} {
			reply := h.serve(ctx, query, limit)
			if reply == nil {
				continue
			}
			if len(reply) > limit {
				t.Fatalf("reply of %d bytes over %d", len(reply), limit)
			}
			var p dnsmessage.Parser
			hdr, err := p.Start(reply)
			if err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if !hdr.Response || hdr.ID != binary.BigEndian.Uint16(query) {
				t.Fatalf("reply header %+v", hdr)
			}
			var m dnsmessage.Message
			if err := m.Unpack(reply); err != nil {
				t.Fatalf("reply does not unpack: %v", err)
			}
		}
	})
}
