//go:build linux

package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostResolver (the guest's DNS through the host agent): the start adds static names, the guest
// asks for them, both directly at slirp's DNS address 192.168.5.3, which boot.Linux/09-host-dns.sh
// redirects to the host agent (a python3 client: the image has no dig or nslookup), and through
// the guest's own resolver (getent; the test image's resolv.conf names 192.168.5.3).
const (
	hrStatic    = "limactl-e2e.test"       // hostResolver.hosts: an address (also in /etc/hosts)
	hrStaticIP  = "10.1.2.3"               //
	hrAlias     = "limactl-e2e-alias.test" // hostResolver.hosts: "localhost", which only the host resolves
	hrAliasIP   = "127.0.0.1"              // the host's localhost
	hrMissing   = "limactl-e2e-missing.invalid"
	hrGuestName = "lima-" + vm // the host agent's own entry for the guest
)

// hostResolverSets are the --set arguments of TestVM's first start (with provisionSets).
func hostResolverSets() []string {
	return []string{
		"--set", `.hostResolver.hosts["` + hrStatic + `"] = "` + hrStaticIP + `"`,
		"--set", `.hostResolver.hosts["` + hrAlias + `"] = "localhost"`,
	}
}

// dnsClient is a guest program: python3 dnsclient.py NAME QTYPE udp|tcp asks 192.168.5.3:53 and
// prints "rcode=N tc=N time=SECONDS ADDR...".
const dnsClient = `
import random, socket, struct, sys, time
name, qtype, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
qid = random.randint(0, 65535)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", qtype, 1)
t0 = time.time()
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(15)
    s.sendto(q, ("192.168.5.3", 53))
    r = s.recv(65535)
else:
    s = socket.create_connection(("192.168.5.3", 53), timeout=15)
    s.sendall(struct.pack(">H", len(q)) + q)
    def rd(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError("connection closed")
            b += c
        return b
    r = rd(struct.unpack(">H", rd(2))[0])
elapsed = time.time() - t0
rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", r[:12])
if rid != qid:
    sys.exit("reply id %d, query id %d" % (rid, qid))
def skip(o):
    while True:
        n = r[o]
        if n == 0:
            return o + 1
        if n & 0xC0 == 0xC0:
            return o + 2
        o += 1 + n
o = 12
for _ in range(qd):
    o = skip(o) + 4
addrs = []
for _ in range(an):
    o = skip(o)
    t, c, ttl, n = struct.unpack(">HHIH", r[o:o + 10])
    o += 10
    if t == 1:
        addrs.append(socket.inet_ntop(socket.AF_INET, r[o:o + n]))
    elif t == 28:
        addrs.append(socket.inet_ntop(socket.AF_INET6, r[o:o + n]))
    o += n
print("rcode=%d tc=%d time=%.2f %s" % (flags & 0xF, (flags >> 9) & 1, elapsed, " ".join(addrs)))
`

var dnsClientLine = regexp.MustCompile(`^rcode=(\d+) tc=(\d) time=([0-9.]+) ?(.*)$`)

type dnsAnswer struct {
	rcode   int
	elapsed time.Duration
	addrs   []string
}

// guestDNS asks the guest's slirp DNS address (so, the host agent) for name.
func guestDNS(t *testing.T, name string, qtype int, proto string) dnsAnswer {
	t.Helper()
	script := "python3 -c " + shellQuote(dnsClient) + " " + shellQuote(name) + " " + strconv.Itoa(qtype) + " " + proto
	r := must(t, time.Minute, "shell", vm, "sh", "-c", script)
	m := dnsClientLine.FindStringSubmatch(strings.TrimSpace(r.stdout))
	if m == nil {
		t.Fatalf("dns client for %s: %q", name, r)
	}
	rcode, _ := strconv.Atoi(m[1])
	secs, _ := strconv.ParseFloat(m[3], 64)
	return dnsAnswer{rcode: rcode, elapsed: time.Duration(secs * float64(time.Second)), addrs: strings.Fields(m[4])}
}

func testHostResolver(t *testing.T) {
	// /etc/hosts carries hostResolver.hosts and host.lima.internal (cidata), whatever the DNS does.
	for name, want := range map[string]string{hrStatic: hrStaticIP, "host.lima.internal": "192.168.5.2"} {
		r := must(t, time.Minute, "shell", vm, "getent", "hosts", name)
		if f := strings.Fields(r.stdout); len(f) < 2 || f[0] != want {
			t.Errorf("getent hosts %s = %q, want %s", name, r.stdout, want)
		}
	}

	// The guest redirects slirp's DNS address to the host agent's ports (boot.Linux/09-host-dns.sh).
	r := must(t, time.Minute, "shell", vm, "sudo", "iptables", "-t", "nat", "-S", "LIMA-DNS")
	for _, proto := range []string{"udp", "tcp"} {
		if !regexp.MustCompile(`-p ` + proto + `.*--dport 53 -j DNAT --to-destination 192\.168\.5\.2:[1-9][0-9]*`).MatchString(r.stdout) {
			t.Errorf("no %s DNAT rule to the host agent in LIMA-DNS:\n%s", proto, r.stdout)
		}
	}

	const typeA, typeAAAA = 1, 28
	for _, c := range []struct {
		name  string
		qtype int
		proto string
		want  string // the addresses, space-separated; "" for none
	}{
		{hrStatic, typeA, "udp", hrStaticIP},        // slirp's own DNS would say NXDOMAIN
		{hrStatic, typeA, "tcp", hrStaticIP},        // over TCP too
		{hrGuestName, typeA, "udp", "192.168.5.15"}, // the guest's own name
		{"host.lima.internal", typeA, "udp", "192.168.5.2"},
		{"host.lima.internal", typeAAAA, "udp", ""}, // hostResolver.ipv6 is off: no AAAA
		{hrAlias, typeA, "udp", hrAliasIP},          // an alias resolved by the host's resolver
	} {
		a := guestDNS(t, c.name, c.qtype, c.proto)
		if a.rcode != 0 || strings.Join(a.addrs, " ") != c.want {
			t.Errorf("%s %s type %d: rcode %d, %v; want %q", c.proto, c.name, c.qtype, a.rcode, a.addrs, c.want)
		}
	}
	// A name the host cannot resolve fails fast: NXDOMAIN from the host's nameservers, or (offline)
	// an empty answer once the host agent's 4 s budget for the query is spent.
	a := guestDNS(t, hrMissing, typeA, "udp")
	if len(a.addrs) != 0 || a.elapsed > 8*time.Second {
		t.Errorf("%s: rcode %d, %v after %v; want no address within 8 s", hrMissing, a.rcode, a.addrs, a.elapsed)
	}
	t.Logf("%s: rcode %d after %v", hrMissing, a.rcode, a.elapsed.Round(10*time.Millisecond))

	// Through the guest's resolver (getent).
	r = must(t, time.Minute, "shell", vm, "cat", "/etc/resolv.conf")
	if !regexp.MustCompile(`(?m)^nameserver\s+192\.168\.5\.3\s*$`).MatchString(r.stdout) {
		t.Fatalf("the guest's resolv.conf does not name 192.168.5.3 (rebuild the test image):\n%s", r.stdout)
	}
	r = must(t, time.Minute, "shell", vm, "getent", "hosts", hrAlias)
	if f := strings.Fields(r.stdout); len(f) < 2 || f[0] != hrAliasIP {
		t.Errorf("getent hosts %s = %q, want %s", hrAlias, r.stdout, hrAliasIP)
	}
	begin := time.Now()
	ctx := t.Context()
	if r, err := limactl(ctx, nil, "shell", vm, "getent", "hosts", hrMissing); err != nil || r.code == 0 {
		t.Errorf("getent hosts %s: %v %s; want a failure", hrMissing, err, r)
	}
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("getent hosts %s took %v", hrMissing, d)
	}
}
