package reversesshfs

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The guest's side of the wire, byte by byte: these tests hand-build requests a hostile guest
// could send and check that each gets a well-formed reply and that the server goes on answering.

// pkt builds a request: its type, then fields (uint32, uint64, string, []byte appended as is).
func pkt(typ byte, fields ...any) []byte {
	b := []byte{typ}
	for _, f := range fields {
		switch v := f.(type) {
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		case int:
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		case uint64:
			b = binary.BigEndian.AppendUint64(b, v)
		case string:
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic(f)
		}
	}
	return b
}

type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// newRaw connects to a server for root and does the INIT/VERSION exchange.
func newRaw(t testing.TB, root string, readOnly bool) *rawClient {
	t.Helper()
	c := &rawClient{t: t, conn: pipeServer(t, root, readOnly)}
	c.r = bufio.NewReader(c.conn)
	if typ, _, _ := c.roundTrip(pkt(fxpInit, 3)); typ != fxpVersion {
		t.Fatalf("INIT answered with type %d", typ)
	}
	return c
}

func (c *rawClient) send(body []byte) {
	c.t.Helper()
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := c.conn.Write(append(frame, body...)); err != nil {
		c.t.Fatalf("the server stopped reading: %v", err)
	}
}

// recv reads one reply: its type, id (the version for VERSION) and the rest.
func (c *rawClient) recv() (typ byte, id uint32, rest []byte) {
	c.t.Helper()
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		c.t.Fatalf("the server stopped answering: %v", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 5 || n > maxPacket {
		c.t.Fatalf("reply of length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.t.Fatalf("the server stopped answering: %v", err)
	}
	return b[0], binary.BigEndian.Uint32(b[1:5]), b[5:]
}

func (c *rawClient) roundTrip(body []byte) (typ byte, id uint32, rest []byte) {
	c.t.Helper()
	c.send(body)
	return c.recv()
}

// status sends body and returns the code of its STATUS reply (-1 for another reply type).
func (c *rawClient) status(body []byte) int {
	c.t.Helper()
	typ, _, rest := c.roundTrip(body)
	if typ != fxpStatus || len(rest) < 4 {
		return -1
	}
	return int(binary.BigEndian.Uint32(rest))
}

// handle opens p with pflags and attrs (raw ATTRS bytes) and returns the handle.
func (c *rawClient) handle(p string, pflags uint32, attrs []byte) string {
	c.t.Helper()
	typ, _, rest := c.roundTrip(pkt(fxpOpen, 1, p, pflags, attrs))
	if typ != fxpHandle {
		c.t.Fatalf("open %s: reply type %d (%q)", p, typ, rest)
	}
	return string(rest[4:])
}

// alive checks that the server still answers a well-formed request correctly.
func (c *rawClient) alive(root string) {
	c.t.Helper()
	typ, id, _ := c.roundTrip(pkt(fxpStat, 4242, root))
	if typ != fxpAttrs || id != 4242 {
		c.t.Fatalf("after that, STAT of the folder got type %d id %d", typ, id)
	}
}

func attrPerm(mode uint32) []byte { return pkt(0, uint32(attrPermissions), mode)[1:] }

var noAttrs = []byte{0, 0, 0, 0}

// Every malformed or unexpected request gets a reply with its id (0 when it has none), and the
// session goes on.
func TestRawMalformedRequests(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(root, "f")
	long := root + "/" + strings.Repeat("a/", 100<<10)
	c := newRaw(t, root, false)
	h := c.handle(f, fxfRead, noAttrs)
	typ, _, rest := c.roundTrip(pkt(fxpOpendir, 1, root))
	if typ != fxpHandle {
		t.Fatalf("opendir: type %d", typ)
	}
	dh := string(rest[4:])

	for _, tc := range []struct {
		name string
		body []byte
		want int // STATUS code; -1 for a reply of another type, -2 for any error STATUS
		id   uint32
	}{
		{"open with APPEND and no attributes", pkt(fxpOpen, 7, f, fxfWrite|fxfAppend|fxfCreat), fxBadMessage, 7},
		{"open with APPEND, attribute flags and no data", pkt(fxpOpen, 7, f, fxfAppend, attrSize|attrUIDGID|attrPermissions|attrACModTime), fxBadMessage, 7},
		{"open with every attribute flag and short data", pkt(fxpOpen, 7, f, fxfRead, uint32(0xffffffff), uint32(1)), fxBadMessage, 7},
		{"open with an extended-attribute count beyond the packet", pkt(fxpOpen, 7, f, fxfRead, uint32(attrExtended), uint32(0xffffffff), "k"), fxBadMessage, 7},
		{"open with no flags at all", pkt(fxpOpen, 7, f), fxBadMessage, 7},
		{"setstat with flags and no data", pkt(fxpSetstat, 8, f, attrSize|attrPermissions), fxBadMessage, 8},
		{"setstat with no flags word", pkt(fxpSetstat, 8, f), fxBadMessage, 8},
		{"setstat with garbage attributes", pkt(fxpSetstat, 8, f, uint32(attrExtended), uint32(3), "a"), fxBadMessage, 8},
		{"fsetstat with flags and no data", pkt(fxpFsetstat, 9, h, attrACModTime), fxBadMessage, 9},
		{"mkdir with flags and no data", pkt(fxpMkdir, 9, root+"/d", attrPermissions), fxBadMessage, 9},
		{"unknown extended request", pkt(fxpExtended, 10, "evil@example.com", "payload"), fxOpUnsupported, 10},
		{"extended request with a truncated name", pkt(fxpExtended, 10, uint32(1000), []byte("x")), fxBadMessage, 10},
		{"posix-rename without a new path", pkt(fxpExtended, 10, "posix-rename@openssh.com", f), fxBadMessage, 10},
		{"hardlink without a new path", pkt(fxpExtended, 10, "hardlink@openssh.com", f), fxBadMessage, 10},
		{"fsync of a bogus handle", pkt(fxpExtended, 10, "fsync@openssh.com", "nope"), fxFailure, 10},
		{"read of a bogus handle", pkt(fxpRead, 11, "nope", uint64(0), uint32(10)), fxFailure, 11},
		{"read of a directory handle", pkt(fxpRead, 11, dh, uint64(0), uint32(10)), fxFailure, 11},
		{"read at an offset beyond int64", pkt(fxpRead, 11, h, uint64(1)<<63, uint32(10)), fxFailure, 11},
		{"read at the end", pkt(fxpRead, 11, h, uint64(10), uint32(10)), fxEOF, 11},
		{"write to a bogus handle", pkt(fxpWrite, 12, "nope", uint64(0), "x"), fxFailure, 12},
		{"write to a read-only handle", pkt(fxpWrite, 12, h, uint64(0), "x"), fxFailure, 12},
		{"write with data beyond the packet", pkt(fxpWrite, 12, h, uint64(0), uint32(1<<20), []byte("x")), fxBadMessage, 12},
		{"readdir of a file handle", pkt(fxpReaddir, 13, h), fxFailure, 13},
		{"write to a directory handle", pkt(fxpWrite, 13, dh, uint64(0), "x"), fxFailure, 13},
		{"close of a bogus handle", pkt(fxpClose, 14, "nope"), fxFailure, 14},
		{"fstat of a bogus handle", pkt(fxpFstat, 14, "nope"), fxFailure, 14},
		{"stat of a 200 KiB path", pkt(fxpStat, 15, long), -2, 15},
		{"mkdir of a 200 KiB path", pkt(fxpMkdir, 15, long, noAttrs), -2, 15},
		{"lstat of a path longer than a packet", pkt(fxpLstat, 15, long+long), fxBadMessage, 15},
		{"stat with a path length beyond the packet", pkt(fxpStat, 15, uint32(50), []byte("/")), fxBadMessage, 15},
		{"stat with a NUL in the path", pkt(fxpStat, 15, root+"/f\x00x"), fxFailure, 15},
		{"symlink with one path", pkt(fxpSymlink, 16, "target"), fxBadMessage, 16},
		{"rename with one path", pkt(fxpRename, 16, f), fxBadMessage, 16},
		{"unknown packet type", pkt(99, 17, "x"), fxOpUnsupported, 17},
		{"a reply type sent as a request", pkt(fxpStatus, 18, uint32(0)), fxOpUnsupported, 18},
		{"a packet too short for an id", pkt(fxpStat, []byte{1, 2}), fxBadMessage, 0},
		{"an empty packet", []byte{}, fxBadMessage, 0},
		{"a second INIT", pkt(fxpInit, 3), -1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			typ, id, rest := c.roundTrip(tc.body)
			switch {
			case tc.want == -1 && typ == fxpStatus:
				t.Errorf("got STATUS %v, want another reply", rest)
			case tc.want != -1 && typ != fxpStatus:
				t.Errorf("got reply type %d, want STATUS %d", typ, tc.want)
			case tc.want == -2 && binary.BigEndian.Uint32(rest) == fxOK:
				t.Errorf("got STATUS OK, want an error")
			case tc.want >= 0 && int(binary.BigEndian.Uint32(rest)) != tc.want:
				t.Errorf("got STATUS %d (%q), want %d", binary.BigEndian.Uint32(rest), rest[4:], tc.want)
			}
			if id != tc.id {
				t.Errorf("reply id %d, want %d", id, tc.id)
			}
			c.alive(root)
		})
	}
	c.t = t
	// A READ of more than a reply may hold is cut short, not refused.
	if typ, _, rest := c.roundTrip(pkt(fxpRead, 19, h, uint64(2), uint32(0xffffffff))); typ != fxpData || string(rest[4:]) != "23456789" {
		t.Errorf("big READ: type %d %q", typ, rest)
	}
	if b, _ := os.ReadFile(f); string(b) != "0123456789" {
		t.Errorf("the file now holds %q", b)
	}
}

// A request longer than the protocol's limit is skipped and refused, and what follows it is read
// as the next request.
func TestRawOversizedPacket(t *testing.T) {
	root := t.TempDir()
	c := newRaw(t, root, false)
	big := pkt(fxpWrite, 20, "h", uint64(0), strings.Repeat("x", 2*maxPacket))
	c.send(big)
	typ, id, rest := c.recv()
	if typ != fxpStatus || id != 20 || binary.BigEndian.Uint32(rest) != fxBadMessage {
		t.Errorf("oversized request: type %d id %d %v", typ, id, rest)
	}
	c.alive(root)
}

// echo a >> f; echo b >> f: OPEN with SSH_FXF_APPEND appends, whatever offset the writes carry.
// (It used to panic the host agent: the open's flags were read as attribute flags.)
func TestRawAppend(t *testing.T) {
	root := t.TempDir()
	f := filepath.Join(root, "log")
	c := newRaw(t, root, false)
	for _, line := range []string{"a\n", "b\n"} {
		h := c.handle(f, fxfWrite|fxfAppend|fxfCreat, noAttrs)
		if code := c.status(pkt(fxpWrite, 2, h, uint64(0), line)); code != fxOK {
			t.Fatalf("write: status %d", code)
		}
		if code := c.status(pkt(fxpClose, 3, h)); code != fxOK {
			t.Fatalf("close: status %d", code)
		}
	}
	// APPEND alone (no WRITE) appends too, as with OpenSSH's sftp-server.
	h := c.handle(f, fxfAppend, noAttrs)
	c.status(pkt(fxpWrite, 2, h, uint64(0), "c\n"))
	c.status(pkt(fxpClose, 3, h))
	if b, _ := os.ReadFile(f); string(b) != "a\nb\nc\n" {
		t.Errorf("log holds %q, want a, b and c", b)
	}
}

// The modes a guest asks for at creation are applied exactly (the host agent's umask does not
// narrow them) without setuid and setgid, and without sticky for files; chmod strips them too.
func TestRawModes(t *testing.T) {
	root := t.TempDir()
	c := newRaw(t, root, false)
	mode := func(name string) os.FileMode {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode()
	}
	for name, m := range map[string]uint32{"f600": 0o600, "f4755": 0o4755, "f666": 0o666, "f7777": 0o7777, "f0": 0} {
		h := c.handle(filepath.Join(root, name), fxfWrite|fxfCreat|fxfTrunc, attrPerm(m))
		c.status(pkt(fxpClose, 1, h))
	}
	for name, want := range map[string]os.FileMode{"f600": 0o600, "f4755": 0o755, "f666": 0o666, "f7777": 0o777, "f0": 0} {
		if got := mode(name); got != want {
			t.Errorf("created %s with mode %v, want %v", name, got, want)
		}
	}
	// An existing file keeps its mode, as with open(2).
	h := c.handle(filepath.Join(root, "f600"), fxfWrite|fxfCreat, attrPerm(0o777))
	c.status(pkt(fxpClose, 1, h))
	if got := mode("f600"); got != 0o600 {
		t.Errorf("opening an existing file changed its mode to %v", got)
	}
	for name, m := range map[string]uint32{"d700": 0o700, "d2775": 0o2775, "d1777": 0o1777, "d777": 0o777} {
		if code := c.status(pkt(fxpMkdir, 2, filepath.Join(root, name), attrPerm(m))); code != fxOK {
			t.Fatalf("mkdir %s: status %d", name, code)
		}
	}
	for name, want := range map[string]os.FileMode{"d700": 0o700, "d2775": 0o775, "d1777": 0o777 | os.ModeSticky, "d777": 0o777} {
		if got := mode(name); got != want|os.ModeDir {
			t.Errorf("mkdir %s gave mode %v, want %v", name, got, want|os.ModeDir)
		}
	}
	for _, tc := range []struct {
		name string
		set  uint32
		want os.FileMode
	}{
		{"f600", 0o4755, 0o755},
		{"f600", 0o7777, 0o777},
		{"f600", 0o640, 0o640},
		{"d700", 0o3777, 0o777 | os.ModeSticky | os.ModeDir},
		{"d700", 0o6755, 0o755 | os.ModeDir},
	} {
		if code := c.status(pkt(fxpSetstat, 3, filepath.Join(root, tc.name), attrPerm(tc.set))); code != fxOK {
			t.Fatalf("setstat: %d", code)
		}
		if got := mode(tc.name); got != tc.want {
			t.Errorf("setstat %s to %o gave %v, want %v", tc.name, tc.set, got, tc.want)
		}
	}
	h = c.handle(filepath.Join(root, "f600"), fxfRead, noAttrs)
	c.status(pkt(fxpFsetstat, 4, h, attrPerm(0o2700)))
	if got := mode("f600"); got != 0o700 {
		t.Errorf("fsetstat to 2700 gave %v", got)
	}
}

// A guest opening files in a loop gets an error at maxHandles, not the host agent's descriptors;
// closing frees slots.
func TestRawHandleCap(t *testing.T) {
	root := t.TempDir()
	f := filepath.Join(root, "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newRaw(t, root, false)
	var handles []string
	for i := range maxHandles {
		if i%2 == 0 {
			handles = append(handles, c.handle(f, fxfRead, noAttrs))
			continue
		}
		typ, _, rest := c.roundTrip(pkt(fxpOpendir, 1, root))
		if typ != fxpHandle {
			t.Fatalf("opendir number %d: type %d", i, typ)
		}
		handles = append(handles, string(rest[4:]))
	}
	if code := c.status(pkt(fxpOpen, 2, f, fxfRead, noAttrs)); code != fxFailure {
		t.Errorf("open beyond the cap: status %d, want a failure", code)
	}
	if code := c.status(pkt(fxpOpendir, 2, root)); code != fxFailure {
		t.Errorf("opendir beyond the cap: status %d, want a failure", code)
	}
	if code := c.status(pkt(fxpClose, 3, handles[0])); code != fxOK {
		t.Fatalf("close: %d", code)
	}
	c.handle(f, fxfRead, noAttrs)
	c.alive(root)
}

// A panic while serving a request is answered with SSH_FX_FAILURE and the session goes on.
func TestRawPanicRecovered(t *testing.T) {
	root := t.TempDir()
	srv, err := NewServer(root, false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.hook = func(typ byte) {
		if typ == fxpLstat {
			var m map[string]int
			m["boom"]++ //nolint:staticcheck // a nil map: a real runtime panic, on purpose
		}
	}
	a, b := net.Pipe()
	go func() { _ = srv.Serve(a, a); _ = a.Close() }()
	defer b.Close()
	c := &rawClient{t: t, conn: b, r: bufio.NewReader(b)}
	for range 2 {
		if code := c.status(pkt(fxpLstat, 5, root)); code != fxFailure {
			t.Errorf("panicking request: status %d", code)
		}
		c.alive(root)
	}
}

// The protocol's own replies: REALPATH is lexical (relative paths are taken from the folder),
// READDIR lists each entry once and then says EOF.
func TestRawRealpathReaddir(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(root, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newRaw(t, root, false)
	for in, want := range map[string]string{".": root, "a/../b": root + "/b", root + "/./c/": root + "/c"} {
		typ, _, rest := c.roundTrip(pkt(fxpRealpath, 1, in))
		r := &reader{b: rest}
		if n, name := r.uint32(), r.string(); typ != fxpName || n != 1 || name != filepath.ToSlash(want) {
			t.Errorf("realpath %q = type %d %q, want %q", in, typ, name, want)
		}
	}
	typ, _, rest := c.roundTrip(pkt(fxpOpendir, 2, root))
	if typ != fxpHandle {
		t.Fatal(typ)
	}
	h := string(rest[4:])
	var names []string
	for {
		typ, _, rest := c.roundTrip(pkt(fxpReaddir, 3, h))
		if typ == fxpStatus {
			if code := binary.BigEndian.Uint32(rest); code != fxEOF {
				t.Errorf("readdir ended with %d", code)
			}
			break
		}
		r := &reader{b: rest}
		for n := r.uint32(); n > 0; n-- {
			name, long := r.string(), r.string()
			r.attrs()
			if !strings.HasSuffix(long, " "+name) || !strings.HasPrefix(long, "-rw-r--r--") {
				t.Errorf("long name %q", long)
			}
			names = append(names, name)
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	if slices.Sort(names); strings.Join(names, ",") != "a,b,c" {
		t.Errorf("listed %v", names)
	}
}
