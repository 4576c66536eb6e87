package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/dns/dnsmessage"
)

// ttl is the TTL of the answers the server makes itself (Lima's).
const ttl = 5

// handler answers one query.
type handler struct {
	ipv6    bool
	ips     map[string]net.IP // canonical name -> address
	aliases map[string]string // canonical name -> canonical name
	res     Resolver
	fwd     *forwarder
}

func newHandler(opts Options) *handler {
	h := &handler{
		ipv6:    opts.IPv6,
		ips:     map[string]net.IP{},
		aliases: map[string]string{},
		res:     opts.Resolver,
		fwd:     &forwarder{servers: opts.Upstreams},
	}
	for name, v := range opts.StaticHosts {
		if ip := net.ParseIP(v); ip != nil {
			h.ips[canonical(name)] = ip
		} else {
			h.aliases[canonical(name)] = canonical(v)
		}
	}
	return h
}

// canonical lower-cases name and ends it with a dot.
func canonical(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// follow resolves name through the static aliases (a cycle ends where it closes).
func (h *handler) follow(name string) string {
	seen := map[string]bool{}
	for !seen[name] {
		next, ok := h.aliases[name]
		if !ok {
			break
		}
		seen[name] = true
		name = next
	}
	return name
}

func (h *handler) static(name string) bool {
	_, ip := h.ips[name]
	_, alias := h.aliases[name]
	return ip || alias
}

// job is a query that needs the resolver or the nameservers.
type job struct {
	hdr      dnsmessage.Header
	q        dnsmessage.Question
	maxReply int
}

// serve answers query (one DNS message) in at most maxReply bytes; nil means no reply.
func (h *handler) serve(ctx context.Context, query []byte, maxReply int) []byte {
	reply, j := h.start(query, maxReply)
	if j == nil {
		return reply
	}
	return h.run(ctx, j)
}

// start answers what needs no lookup (malformed queries, static names); otherwise it returns the
// job to run. Both nil: no reply.
func (h *handler) start(query []byte, maxReply int) ([]byte, *job) {
	var p dnsmessage.Parser
	hdr, err := p.Start(query)
	if err != nil {
		return nil, nil // not even a header
	}
	if hdr.Response {
		return nil, nil // never answer an answer
	}
	if hdr.OpCode != 0 {
		return pack(errorReply(hdr, nil, dnsmessage.RCodeNotImplemented), maxReply), nil
	}
	// As Lima's server (miekg/dns' default acceptance): one question, no more records than an
	// ordinary query carries.
	qd, an, ns, ar := count(query, 4), count(query, 6), count(query, 8), count(query, 10)
	if qd != 1 || an > 1 || ns > 1 || ar > 2 {
		return pack(errorReply(hdr, nil, dnsmessage.RCodeFormatError), maxReply), nil
	}
	q, err := p.Question()
	if err != nil {
		return pack(errorReply(hdr, nil, dnsmessage.RCodeFormatError), maxReply), nil
	}
	if m := h.local(hdr, q); m != nil {
		return pack(m, maxReply), nil
	}
	return nil, &job{hdr: hdr, q: q, maxReply: maxReply}
}

// run answers a job within ctx.
func (h *handler) run(ctx context.Context, j *job) []byte {
	return pack(h.remote(ctx, j.hdr, j.q), j.maxReply)
}

func count(msg []byte, off int) uint16 { return binary.BigEndian.Uint16(msg[off:]) }

func errorReply(hdr dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode) *dnsmessage.Message {
	m := &dnsmessage.Message{Header: replyHeader(hdr, rcode)}
	if q != nil {
		m.Questions = []dnsmessage.Question{*q}
	}
	return m
}

func replyHeader(hdr dnsmessage.Header, rcode dnsmessage.RCode) dnsmessage.Header {
	return dnsmessage.Header{
		ID:                 hdr.ID,
		Response:           true,
		OpCode:             hdr.OpCode,
		RecursionDesired:   hdr.RecursionDesired,
		RecursionAvailable: true,
		CheckingDisabled:   hdr.CheckingDisabled,
		RCode:              rcode,
	}
}

// busyReply is SERVFAIL for a query that found no free slot (its header only, if it parses).
func busyReply(query []byte) []byte {
	var p dnsmessage.Parser
	hdr, err := p.Start(query)
	if err != nil || hdr.Response {
		return nil
	}
	return pack(errorReply(hdr, nil, dnsmessage.RCodeServerFailure), maxTCPReply)
}

// local answers q from the static names, as Lima's server; nil when q needs a lookup.
func (h *handler) local(hdr dnsmessage.Header, q dnsmessage.Question) *dnsmessage.Message {
	if q.Class != dnsmessage.ClassINET {
		return nil
	}
	reply := errorReply(hdr, &q, dnsmessage.RCodeSuccess)
	name := canonical(q.Name.String())
	target := h.follow(name)
	static := h.static(name)
	ip, staticIP := h.ips[target]
	add := answerAdder(reply, q)
	switch q.Type {
	case dnsmessage.TypeAAAA, dnsmessage.TypeA:
		if q.Type == dnsmessage.TypeAAAA && !h.ipv6 {
			return reply // NODATA (RFC 2308 2.2), as Lima without hostResolver.ipv6
		}
		if !staticIP {
			return nil
		}
		addIPs(add, q.Type, []net.IP{ip}) // none of this family: NODATA
		return reply
	case dnsmessage.TypeCNAME:
		if target != name {
			if n, err := dnsmessage.NewName(target); err == nil {
				add(&dnsmessage.CNAMEResource{CNAME: n})
				return reply
			}
		}
	case dnsmessage.TypeALL:
		if staticIP {
			addIPs(add, dnsmessage.TypeA, []net.IP{ip})
			if h.ipv6 {
				addIPs(add, dnsmessage.TypeAAAA, []net.IP{ip})
			}
			return reply
		}
	}
	if static && q.Type != dnsmessage.TypeA && q.Type != dnsmessage.TypeAAAA {
		return reply // the name exists, without records of this type
	}
	return nil
}

// remote answers q through the host's resolver (A, AAAA, CNAME, TXT, NS, MX, SRV), else through
// the host's nameservers, as Lima's server.
func (h *handler) remote(ctx context.Context, hdr dnsmessage.Header, q dnsmessage.Question) *dnsmessage.Message {
	if q.Class != dnsmessage.ClassINET {
		return h.forward(ctx, hdr, q)
	}
	reply := errorReply(hdr, &q, dnsmessage.RCodeSuccess)
	add := answerAdder(reply, q)
	name := canonical(q.Name.String())
	switch q.Type {
	case dnsmessage.TypeAAAA, dnsmessage.TypeA:
		// Names of static aliases are looked up by their target, answered under the query's name.
		target := h.follow(name)
		if validName(target) {
			// Without the final dot: Go's resolver looks a dotted name up in DNS only, never in the
			// host's /etc/hosts (an alias to "localhost" would fail).
			ips, err := h.res.LookupIP(ctx, "ip", strings.TrimSuffix(target, "."))
			if err != nil {
				logrus.WithError(err).Debugf("dns: lookup %s", target)
			}
			if addIPs(add, q.Type, ips) > 0 {
				return reply
			}
		}
	case dnsmessage.TypeCNAME:
		if validName(name) {
			if cname, err := h.res.LookupCNAME(ctx, strings.TrimSuffix(name, ".")); err == nil && cname != "" && canonical(cname) != name {
				if n, err := dnsmessage.NewName(canonical(cname)); err == nil {
					add(&dnsmessage.CNAMEResource{CNAME: n})
					return reply
				}
			}
		}
	case dnsmessage.TypeTXT, dnsmessage.TypeNS, dnsmessage.TypeMX, dnsmessage.TypeSRV:
		if validName(name) && h.lookupOther(ctx, q.Type, name, add) {
			return reply
		}
	}
	return h.forward(ctx, hdr, q)
}

func answerAdder(reply *dnsmessage.Message, q dnsmessage.Question) func(dnsmessage.ResourceBody) {
	return func(body dnsmessage.ResourceBody) {
		reply.Answers = append(reply.Answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl},
			Body:   body,
		})
	}
}

// addIPs adds the addresses of the family of t (A or AAAA) and returns how many.
func addIPs(add func(dnsmessage.ResourceBody), t dnsmessage.Type, ips []net.IP) int {
	n := 0
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 != nil && t == dnsmessage.TypeA {
			add(&dnsmessage.AResource{A: [4]byte(ip4)})
			n++
		} else if ip4 == nil && len(ip) == net.IPv6len && t == dnsmessage.TypeAAAA {
			add(&dnsmessage.AAAAResource{AAAA: [16]byte(ip)})
			n++
		}
	}
	return n
}

// lookupOther answers TXT, NS, MX and SRV through the resolver; false when it found nothing.
func (h *handler) lookupOther(ctx context.Context, t dnsmessage.Type, name string, add func(dnsmessage.ResourceBody)) bool {
	n := 0
	addName := func(host string, mk func(dnsmessage.Name) dnsmessage.ResourceBody) {
		if host == "" {
			return
		}
		if hn, err := dnsmessage.NewName(canonical(host)); err == nil {
			add(mk(hn))
			n++
		}
	}
	var err error
	switch t {
	case dnsmessage.TypeTXT:
		var txts []string
		if txts, err = h.res.LookupTXT(ctx, name); err == nil {
			for _, s := range txts {
				// The resolver joins the strings of a record (RFC 7208 3.3); split them again.
				add(&dnsmessage.TXTResource{TXT: chunkify(s, 255)})
				n++
			}
		}
	case dnsmessage.TypeNS:
		var nss []*net.NS
		if nss, err = h.res.LookupNS(ctx, name); err == nil {
			for _, ns := range nss {
				addName(ns.Host, func(n dnsmessage.Name) dnsmessage.ResourceBody { return &dnsmessage.NSResource{NS: n} })
			}
		}
	case dnsmessage.TypeMX:
		var mxs []*net.MX
		if mxs, err = h.res.LookupMX(ctx, name); err == nil {
			for _, mx := range mxs {
				pref := mx.Pref
				addName(mx.Host, func(n dnsmessage.Name) dnsmessage.ResourceBody {
					return &dnsmessage.MXResource{Pref: pref, MX: n}
				})
			}
		}
	case dnsmessage.TypeSRV:
		var srvs []*net.SRV
		if _, srvs, err = h.res.LookupSRV(ctx, "", "", name); err == nil {
			for _, srv := range srvs {
				addName(srv.Target, func(n dnsmessage.Name) dnsmessage.ResourceBody {
					return &dnsmessage.SRVResource{Priority: srv.Priority, Weight: srv.Weight, Port: srv.Port, Target: n}
				})
			}
		}
	}
	if err != nil {
		logrus.WithError(err).Debugf("dns: lookup %v %s", t, name)
	}
	return n > 0
}

// forward asks the host's nameservers. When none answers the reply is empty (NOERROR), as Lima's.
func (h *handler) forward(ctx context.Context, hdr dnsmessage.Header, q dnsmessage.Question) *dnsmessage.Message {
	resp, err := h.fwd.exchange(ctx, q, hdr.RecursionDesired, hdr.CheckingDisabled)
	if err != nil {
		logrus.WithError(err).Debugf("dns: forward %v %s", q.Type, q.Name.String())
		return errorReply(hdr, &q, dnsmessage.RCodeSuccess)
	}
	m := &dnsmessage.Message{Header: replyHeader(hdr, resp.RCode), Questions: []dnsmessage.Question{q}}
	m.Authoritative = resp.Authoritative
	m.AuthenticData = resp.AuthenticData
	m.Truncated = resp.Truncated
	m.Answers = resp.Answers
	m.Authorities = resp.Authorities
	for _, r := range resp.Additionals {
		if r.Header.Type != dnsmessage.TypeOPT {
			m.Additionals = append(m.Additionals, r)
		}
	}
	return m
}

// pack encodes m in at most max bytes: it drops the additional and authority sections if needed,
// then as many answers as needed, setting TC (RFC 2181 9). nil when even the header fails.
func pack(m *dnsmessage.Message, max int) []byte {
	if b, err := m.Pack(); err == nil && len(b) <= max {
		return b
	}
	c := *m
	c.Additionals = nil
	if b, err := c.Pack(); err == nil && len(b) <= max {
		return b
	}
	c.Authorities = nil
	if b, err := c.Pack(); err == nil && len(b) <= max {
		return b
	}
	c.Truncated = true
	answers := m.Answers
	// The largest prefix of the answers that fits (binary search: a hostile upstream record set
	// must not cost a pack per record).
	lo, hi := 0, len(answers)-1 // answers[:lo] fits or lo is 0; answers[:hi+1] does not
	var best []byte
	for lo <= hi {
		mid := (lo + hi) / 2
		c.Answers = answers[:mid]
		if b, err := c.Pack(); err == nil && len(b) <= max {
			best, lo = b, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best != nil {
		return best
	}
	c.Answers = nil
	if b, err := c.Pack(); err == nil && len(b) <= max {
		return b
	}
	c.Questions = nil // a name that does not pack again
	if b, err := c.Pack(); err == nil && len(b) <= max {
		return b
	}
	return nil
}

// validName reports whether name (canonical) is a host name the resolver may be asked about:
// labels of letters, digits, '-' and '_', at most 63 bytes each, 254 in all.
func validName(name string) bool {
	if name == "." || len(name) > 254 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !labelByte(label[i]) {
				return false
			}
		}
	}
	return true
}

func labelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func chunkify(s string, limit int) []string {
	var out []string
	for s != "" {
		n := min(limit, len(s))
		out = append(out, s[:n])
		s = s[n:]
	}
	if out == nil {
		out = []string{""}
	}
	return out
}

var errNoUpstream = errors.New("no nameserver answered")
