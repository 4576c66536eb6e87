package dns

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// defaultFallback are Lima's nameservers when the host's cannot be read.
var defaultFallback = []string{"8.8.8.8:53", "1.1.1.1:53"}

// attemptTimeout bounds one exchange with one nameserver (within the query's budget).
const attemptTimeout = 2 * time.Second

// hostNameservers reads the nameservers of the host's /etc/resolv.conf, as Lima does.
func hostNameservers() []string {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return defaultFallback
	}
	defer f.Close()
	servers := parseResolvConf(f)
	if len(servers) == 0 {
		return defaultFallback
	}
	return servers
}

func parseResolvConf(r io.Reader) []string {
	var servers []string
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "%")
		if net.ParseIP(addr) == nil {
			continue
		}
		servers = append(servers, net.JoinHostPort(f[1], "53"))
	}
	return servers
}

// forwarder sends a query to the host's nameservers: each over UDP, and over TCP when the UDP
// answer is truncated or none came (as Lima's, which tries UDP then TCP).
type forwarder struct {
	servers []string
}

func (f *forwarder) exchange(ctx context.Context, q dnsmessage.Question, rd, cd bool) (*dnsmessage.Message, error) {
	if len(f.servers) == 0 {
		return nil, errNoUpstream
	}
	id := uint16(rand.Uint32())
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: rd, CheckingDisabled: cd},
		Questions: []dnsmessage.Question{q},
	}
	query, err := m.Pack()
	if err != nil {
		return nil, err
	}
	var errs []error
	var truncated *dnsmessage.Message
	for _, network := range []string{"udp", "tcp"} {
		for _, srv := range f.servers {
			if ctx.Err() != nil {
				break
			}
			resp, err := exchangeOne(ctx, network, srv, query, id, q)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if network == "udp" && resp.Truncated {
				truncated = resp
				if r, err := exchangeOne(ctx, "tcp", srv, query, id, q); err == nil {
					return r, nil
				}
				return truncated, nil
			}
			return resp, nil
		}
	}
	if truncated != nil {
		return truncated, nil
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %w", errNoUpstream, errors.Join(errs...))
}

func exchangeOne(ctx context.Context, network, srv string, query []byte, id uint16, q dnsmessage.Question) (*dnsmessage.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, srv)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if network == "udp" {
		if _, err := c.Write(query); err != nil {
			return nil, err
		}
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return nil, err
			}
			if m, ok := matches(buf[:n], id, q); ok {
				return m, nil
			}
		}
	}
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(query)), uint16(len(query)))
	if _, err := c.Write(append(out, query...)); err != nil {
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
	m, ok := matches(buf, id, q)
	if !ok {
		return nil, fmt.Errorf("%s/%s: a reply that does not match the query", network, srv)
	}
	return m, nil
}

// matches parses a nameserver's reply and checks it answers the query sent (id, question).
func matches(b []byte, id uint16, q dnsmessage.Question) (*dnsmessage.Message, bool) {
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		return nil, false
	}
	if !m.Response || m.ID != id || len(m.Questions) != 1 {
		return nil, false
	}
	got := m.Questions[0]
	if got.Type != q.Type || got.Class != q.Class || !strings.EqualFold(got.Name.String(), q.Name.String()) {
		return nil, false
	}
	return &m, true
}
