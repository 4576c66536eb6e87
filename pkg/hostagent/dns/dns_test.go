package dns

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeResolver answers from maps; block, when set, makes every lookup wait for it or the context.
type fakeResolver struct {
	ips   map[string][]net.IP
	cname map[string]string
	txt   map[string][]string
	mx    map[string][]*net.MX
	ns    map[string][]*net.NS
	srv   map[string][]*net.SRV
	block chan struct{}
}

var errNotFound = &net.DNSError{Err: "no such host", IsNotFound: true}

func (f *fakeResolver) wait(ctx context.Context) error {
	if f.block == nil {
		return nil
	}
	select {
	case <-f.block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeResolver) LookupIP(ctx context.Context, _, host string) ([]net.IP, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	if v, ok := f.ips[host]; ok {
		return v, nil
	}
	return nil, errNotFound
}

func (f *fakeResolver) LookupCNAME(ctx context.Context, host string) (string, error) {
	if err := f.wait(ctx); err != nil {
		return "", err
	}
	if v, ok := f.cname[host]; ok {
		return v, nil
	}
	return "", errNotFound
}

func (f *fakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	if v, ok := f.txt[name]; ok {
		return v, nil
	}
	return nil, errNotFound
}

func (f *fakeResolver) LookupNS(ctx context.Context, name string) ([]*net.NS, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	if v, ok := f.ns[name]; ok {
		return v, nil
	}
	return nil, errNotFound
}

func (f *fakeResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	if v, ok := f.mx[name]; ok {
		return v, nil
	}
	return nil, errNotFound
}

func (f *fakeResolver) LookupSRV(ctx context.Context, _, _, name string) (string, []*net.SRV, error) {
	if err := f.wait(ctx); err != nil {
		return "", nil, err
	}
	if v, ok := f.srv[name]; ok {
		return name, v, nil
	}
	return "", nil, errNotFound
}

func testHosts() map[string]string {
	return map[string]string{
		"host.lima.internal": "192.168.5.2",
		"lima-test":          "192.168.5.15",
		"limactl-e2e.test":   "10.1.2.3",
		"v6.test":            "fd00::1",
		"alias.test":         "host.lima.internal",
		"alias2.test":        "alias.test",
		"loop1.test":         "loop2.test",
		"loop2.test":         "loop1.test",
		"outside.test":       "example.com",
	}
}

func testResolver() *fakeResolver {
	return &fakeResolver{
		ips: map[string][]net.IP{
			"example.com": {net.ParseIP("93.184.215.14"), net.ParseIP("2606:2800:21f:cb07:6820:80da:af6b:8b2c")},
			"v6only.com":  {net.ParseIP("2001:db8::1")},
		},
		cname: map[string]string{"www.example.com": "example.com."},
		txt:   map[string][]string{"example.com.": {"v=spf1 -all", strings.Repeat("x", 300)}},
		mx:    map[string][]*net.MX{"example.com.": {{Host: "mail.example.com.", Pref: 10}}},
		ns:    map[string][]*net.NS{"example.com.": {{Host: "a.iana-servers.net."}}},
		srv:   map[string][]*net.SRV{"_sip._tcp.example.com.": {{Target: "sip.example.com.", Port: 5060, Priority: 1, Weight: 2}}},
	}
}

func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.StaticHosts == nil {
		opts.StaticHosts = testHosts()
	}
	if opts.Resolver == nil {
		opts.Resolver = testResolver()
	}
	if opts.Upstreams == nil {
		opts.Upstreams = []string{}
	}
	s, err := Listen("127.0.0.1", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func buildQuery(t testing.TB, id uint16, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}},
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchangeUDP sends raw and returns the raw reply (error on timeout).
func exchangeUDP(port int, raw []byte, timeout time.Duration) ([]byte, error) {
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(raw); err != nil {
		return nil, err
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func exchangeTCP(port int, raw []byte, timeout time.Duration) ([]byte, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	out := binary.BigEndian.AppendUint16(nil, uint16(len(raw)))
	if _, err := c.Write(append(out, raw...)); err != nil {
		return nil, err
	}
	var prefix [2]byte
	if _, err := io.ReadFull(c, prefix[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(prefix[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func ask(t testing.TB, s *Server, network, name string, typ dnsmessage.Type) *dnsmessage.Message {
	t.Helper()
	q := buildQuery(t, 0x4242, name, typ)
	var raw []byte
	var err error
	if network == "tcp" {
		raw, err = exchangeTCP(s.TCPPort(), q, 5*time.Second)
	} else {
		raw, err = exchangeUDP(s.UDPPort(), q, 5*time.Second)
	}
	if err != nil {
		t.Fatalf("%s %v %s: %v", network, typ, name, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(raw); err != nil {
		t.Fatalf("%s %v %s: unpack: %v", network, typ, name, err)
	}
	if m.ID != 0x4242 || !m.Response {
		t.Fatalf("%s %v %s: header %+v", network, typ, name, m.Header)
	}
	return &m
}

// answers renders the answer section as "TYPE value" strings.
func answers(m *dnsmessage.Message) []string {
	var out []string
	for _, r := range m.Answers {
		var v string
		switch b := r.Body.(type) {
		case *dnsmessage.AResource:
			v = net.IP(b.A[:]).String()
		case *dnsmessage.AAAAResource:
			v = net.IP(b.AAAA[:]).String()
		case *dnsmessage.CNAMEResource:
			v = b.CNAME.String()
		case *dnsmessage.TXTResource:
			v = strings.Join(b.TXT, "|")
		case *dnsmessage.MXResource:
			v = strconv.Itoa(int(b.Pref)) + " " + b.MX.String()
		case *dnsmessage.NSResource:
			v = b.NS.String()
		case *dnsmessage.SRVResource:
			v = b.Target.String() + ":" + strconv.Itoa(int(b.Port))
		case *dnsmessage.PTRResource:
			v = b.PTR.String()
		default:
			v = "?"
		}
		out = append(out, strings.TrimPrefix(r.Header.Type.String(), "Type")+" "+v)
	}
	return out
}

func TestAnswers(t *testing.T) {
	s := startServer(t, Options{})
	s6 := startServer(t, Options{IPv6: true})
	type tc struct {
		srv   *Server
		name  string
		typ   dnsmessage.Type
		rcode dnsmessage.RCode
		want  string
	}
	x := strings.Repeat("x", 255) + "|" + strings.Repeat("x", 45)
	for _, c := range []tc{
		{s, "host.lima.internal.", dnsmessage.TypeA, 0, "A 192.168.5.2"},
		{s, "HOST.Lima.Internal.", dnsmessage.TypeA, 0, "A 192.168.5.2"},
		{s, "lima-test.", dnsmessage.TypeA, 0, "A 192.168.5.15"},
		{s, "limactl-e2e.test.", dnsmessage.TypeA, 0, "A 10.1.2.3"},
		{s, "alias2.test.", dnsmessage.TypeA, 0, "A 192.168.5.2"},
		{s, "alias2.test.", dnsmessage.TypeCNAME, 0, "CNAME host.lima.internal."},
		{s, "outside.test.", dnsmessage.TypeA, 0, "A 93.184.215.14"},
		{s, "loop1.test.", dnsmessage.TypeA, 0, ""}, // a cycle: forwarded, no upstream: empty
		{s, "host.lima.internal.", dnsmessage.TypeAAAA, 0, ""},
		{s, "host.lima.internal.", dnsmessage.TypeMX, 0, ""},
		{s, "host.lima.internal.", dnsmessage.TypeCNAME, 0, ""},
		{s, "host.lima.internal.", dnsmessage.TypeALL, 0, "A 192.168.5.2"},
		{s, "v6.test.", dnsmessage.TypeA, 0, ""},
		{s, "example.com.", dnsmessage.TypeA, 0, "A 93.184.215.14"},
		{s, "example.com.", dnsmessage.TypeAAAA, 0, ""}, // hostResolver.ipv6 off
		{s6, "example.com.", dnsmessage.TypeAAAA, 0, "AAAA 2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		{s6, "v6.test.", dnsmessage.TypeAAAA, 0, "AAAA fd00::1"},
		{s6, "v6.test.", dnsmessage.TypeA, 0, ""},
		{s, "www.example.com.", dnsmessage.TypeCNAME, 0, "CNAME example.com."},
		{s, "example.com.", dnsmessage.TypeTXT, 0, "TXT v=spf1 -all,TXT " + x},
		{s, "example.com.", dnsmessage.TypeMX, 0, "MX 10 mail.example.com."},
		{s, "example.com.", dnsmessage.TypeNS, 0, "NS a.iana-servers.net."},
		{s, "_sip._tcp.example.com.", dnsmessage.TypeSRV, 0, "SRV sip.example.com.:5060"},
		{s, "nowhere.test.", dnsmessage.TypeA, 0, ""},
	} {
		for _, network := range []string{"udp", "tcp"} {
			m := ask(t, c.srv, network, c.name, c.typ)
			got := strings.Join(answers(m), ",")
			if got != c.want || m.RCode != c.rcode {
				t.Errorf("%s %v %s: got %q %v, want %q %v", network, c.typ, c.name, got, m.RCode, c.want, c.rcode)
			}
			if len(m.Questions) != 1 || m.Questions[0].Name.String() != c.name {
				t.Errorf("%s %v %s: question %+v", network, c.typ, c.name, m.Questions)
			}
			for _, r := range m.Answers {
				if r.Header.Name.String() != c.name || r.Header.TTL != ttl {
					t.Errorf("%s %v %s: record header %+v", network, c.typ, c.name, r.Header)
				}
			}
		}
	}
}

func TestRejects(t *testing.T) {
	s := startServer(t, Options{})
	q := buildQuery(t, 7, "host.lima.internal.", dnsmessage.TypeA)

	rcode := func(raw []byte) dnsmessage.RCode {
		t.Helper()
		reply, err := exchangeUDP(s.UDPPort(), raw, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var p dnsmessage.Parser
		h, err := p.Start(reply)
		if err != nil {
			t.Fatal(err)
		}
		if h.ID != binary.BigEndian.Uint16(raw) {
			t.Fatalf("id %d", h.ID)
		}
		return h.RCode
	}
	two := append([]byte(nil), q...)
	binary.BigEndian.PutUint16(two[4:], 2)
	if rc := rcode(two); rc != dnsmessage.RCodeFormatError {
		t.Errorf("two questions: %v", rc)
	}
	none := append([]byte(nil), q[:12]...)
	binary.BigEndian.PutUint16(none[4:], 0)
	if rc := rcode(none); rc != dnsmessage.RCodeFormatError {
		t.Errorf("no question: %v", rc)
	}
	update := append([]byte(nil), q...)
	update[2] |= 5 << 3 // opcode UPDATE
	if rc := rcode(update); rc != dnsmessage.RCodeNotImplemented {
		t.Errorf("update: %v", rc)
	}
	resp := append([]byte(nil), q...)
	resp[2] |= 0x80 // QR: a response is never answered
	if _, err := exchangeUDP(s.UDPPort(), resp, 300*time.Millisecond); err == nil {
		t.Error("a response got a reply")
	}
	big := make([]byte, maxUDPQuery+100)
	copy(big, q)
	if _, err := exchangeUDP(s.UDPPort(), big, 300*time.Millisecond); err == nil {
		t.Error("an oversized UDP query got a reply")
	}
}

func TestTruncation(t *testing.T) {
	var many []net.IP
	for i := range 200 {
		many = append(many, net.IPv4(10, 0, byte(i/250), byte(i%250)))
	}
	r := testResolver()
	r.ips["many.test"] = many
	s := startServer(t, Options{Resolver: r})
	m := ask(t, s, "udp", "many.test.", dnsmessage.TypeA)
	if !m.Truncated || len(m.Answers) == 0 || len(m.Answers) >= 200 {
		t.Errorf("udp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
	raw, err := m.Pack()
	if err != nil || len(raw) > maxUDPReply {
		t.Errorf("udp reply of %d bytes (%v)", len(raw), err)
	}
	m = ask(t, s, "tcp", "many.test.", dnsmessage.TypeA)
	if m.Truncated || len(m.Answers) != 200 {
		t.Errorf("tcp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
}

// fakeUpstream is a nameserver on 127.0.0.1 (UDP and TCP on the same port) that answers PTR
// queries and, for big.test TXT, a reply that only fits over TCP.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	var l net.Listener
	var pc net.PacketConn
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Skip("no port free for both UDP and TCP")
	}
	t.Cleanup(func() { pc.Close(); l.Close() })
	reply := func(raw []byte, udp bool) []byte {
		var m dnsmessage.Message
		if err := m.Unpack(raw); err != nil || len(m.Questions) != 1 {
			return nil
		}
		q := m.Questions[0]
		m.Response = true
		hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case q.Type == dnsmessage.TypePTR && q.Name.String() == "2.5.168.192.in-addr.arpa.":
			m.Answers = append(m.Answers, dnsmessage.Resource{Header: hdr, Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("gateway.test.")}})
		case q.Type == dnsmessage.TypeTXT && q.Name.String() == "big.test.":
			if udp {
				m.Truncated = true
				break
			}
			for range 10 {
				m.Answers = append(m.Answers, dnsmessage.Resource{Header: hdr, Body: &dnsmessage.TXTResource{TXT: []string{strings.Repeat("y", 200)}}})
			}
		default:
			m.RCode = dnsmessage.RCodeNameError
		}
		b, _ := m.Pack()
		return b
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if b := reply(buf[:n], true); b != nil {
				_, _ = pc.WriteTo(b, from)
			}
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var prefix [2]byte
				if _, err := io.ReadFull(c, prefix[:]); err != nil {
					return
				}
				buf := make([]byte, binary.BigEndian.Uint16(prefix[:]))
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				b := reply(buf, false)
				_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
			}()
		}
	}()
	return pc.LocalAddr().String()
}

func TestForward(t *testing.T) {
	up := fakeUpstream(t)
	s := startServer(t, Options{Upstreams: []string{up}})
	m := ask(t, s, "udp", "2.5.168.192.in-addr.arpa.", dnsmessage.TypePTR)
	if got := strings.Join(answers(m), ","); got != "PTR gateway.test." {
		t.Errorf("PTR: %q", got)
	}
	// A name the resolver does not know goes to the nameservers, whose NXDOMAIN the guest gets.
	m = ask(t, s, "udp", "nowhere.test.", dnsmessage.TypeA)
	if m.RCode != dnsmessage.RCodeNameError {
		t.Errorf("nowhere.test: %v", m.RCode)
	}
	// Truncated over UDP upstream: the server asks again over TCP; the guest's UDP reply is cut
	// to 512 bytes, its TCP reply is whole.
	m = ask(t, s, "udp", "big.test.", dnsmessage.TypeTXT)
	if !m.Truncated || len(m.Answers) >= 10 {
		t.Errorf("big.test udp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
	m = ask(t, s, "tcp", "big.test.", dnsmessage.TypeTXT)
	if m.Truncated || len(m.Answers) != 10 {
		t.Errorf("big.test tcp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
}

// A name nothing resolves, with a nameserver that never answers, fails within the query budget.
func TestForwardTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := startServer(t, Options{Upstreams: []string{pc.LocalAddr().String()}, QueryTimeout: 500 * time.Millisecond})
	start := time.Now()
	m := ask(t, s, "udp", "nowhere.test.", dnsmessage.TypeA)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if len(m.Answers) != 0 || m.RCode != dnsmessage.RCodeSuccess {
		t.Errorf("got %v %v", answers(m), m.RCode)
	}
}

func TestParseResolvConf(t *testing.T) {
	got := parseResolvConf(strings.NewReader("# c\nsearch x\nnameserver 127.0.0.53\nnameserver fe80::1%en0\nnameserver bogus\nnameserver\noptions edns0\n"))
	want := []string{"127.0.0.53:53", "[fe80::1%en0]:53"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v", got)
	}
}

func TestCloseTwice(t *testing.T) {
	s := startServer(t, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := exchangeUDP(s.UDPPort(), buildQuery(t, 1, "host.lima.internal.", dnsmessage.TypeA), 200*time.Millisecond); err == nil {
		t.Error("answered after Close")
	}
	if _, err := exchangeTCP(s.TCPPort(), buildQuery(t, 1, "host.lima.internal.", dnsmessage.TypeA), 200*time.Millisecond); err == nil {
		t.Error("answered over TCP after Close")
	}
}

// TestAliasToHostsFile: a hostResolver.hosts alias whose target only the host's /etc/hosts knows
// ("localhost") resolves through the real resolver. Go's resolver skips /etc/hosts for a name with
// the final dot, which the e2e suite caught (the guest got NXDOMAIN).
func TestAliasToHostsFile(t *testing.T) {
	h := newHandler(Options{StaticHosts: map[string]string{"alias.test": "localhost"}, Resolver: net.DefaultResolver})
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("alias.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	m := h.remote(t.Context(), dnsmessage.Header{ID: 1}, q)
	if len(m.Answers) == 0 {
		t.Fatalf("alias.test -> localhost: no answer (rcode %v)", m.RCode)
	}
	if a, ok := m.Answers[0].Body.(*dnsmessage.AResource); !ok || net.IP(a.A[:]).String() != "127.0.0.1" {
		t.Errorf("alias.test: %v", m.Answers[0].Body)
	}
}
