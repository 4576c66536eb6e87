package api

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseTunnelLine(t *testing.T) {
	nonce := strings.Repeat("0f", 16)
	line := TunnelLine(TunnelHello, nonce)
	if !strings.HasPrefix(line, "\n") || !strings.HasSuffix(line, "\n") {
		t.Fatalf("TunnelLine = %q: want a leading and a trailing newline", line)
	}
	if w, n, ok := ParseTunnelLine([]byte(strings.TrimSpace(line))); !ok || w != TunnelHello || n != nonce {
		t.Errorf("ParseTunnelLine(%q) = %q, %q, %v", line, w, n, ok)
	}
	for _, bad := range []string{
		"",
		TunnelMagic + " HELLO",
		TunnelMagic + " HELLO " + strings.Repeat("0F", 16), // upper case
		TunnelMagic + " HELLO " + nonce[:31],
		TunnelMagic + " HELLO " + nonce + " extra",
		"LIMA-TUNNEL-2 HELLO " + nonce,
		"\x00\x01garbage HELLO " + nonce,
	} {
		if _, _, ok := ParseTunnelLine([]byte(bad)); ok {
			t.Errorf("ParseTunnelLine(%q) accepted it", bad)
		}
	}
}

// TestLineScannerBounded: lines longer than Max, even far longer than the reader's buffer, are
// skipped whole, and the next line is found.
func TestLineScannerBounded(t *testing.T) {
	in := strings.Repeat("x", 1<<20) + "\nshort\n" + strings.Repeat("y", MaxTunnelLine+1) + "\n\nlast"
	sc := LineScanner{R: bufio.NewReaderSize(strings.NewReader(in), 64), Max: MaxTunnelLine}
	var got []string
	for {
		l, err := sc.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, string(l))
	}
	if strings.Join(got, "|") != "short|" {
		t.Errorf("lines = %q, want [short, \"\"] (an unterminated last line is not a line)", got)
	}
}

func TestReadTunnelLine(t *testing.T) {
	r := strings.NewReader("ok\nDATA")
	if l, err := ReadTunnelLine(r, 10); err != nil || l != "ok" {
		t.Fatalf("ReadTunnelLine = %q, %v", l, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "DATA" {
		t.Errorf("ReadTunnelLine consumed past the newline: %q left", rest)
	}
	if _, err := ReadTunnelLine(strings.NewReader(strings.Repeat("z", 100)+"\n"), 10); err == nil {
		t.Error("a line over the limit was accepted")
	}
	if _, err := ReadTunnelLine(strings.NewReader("no newline"), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a truncated line: %v, want ErrUnexpectedEOF", err)
	}
}

func TestTunnelReplies(t *testing.T) {
	if err := ParseTunnelReply(strings.TrimSuffix(TunnelReply(nil, false), "\n")); err != nil {
		t.Errorf("ok: %v", err)
	}
	refused := TunnelReply(errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true)
	if err := ParseTunnelReply(strings.TrimSuffix(refused, "\n")); !errors.Is(err, ErrTunnelRefused) {
		t.Errorf("refused: %v", err)
	}
	long := TunnelReply(errors.New("a\nb\x1b[31m"+strings.Repeat("é", 1000)), false)
	if len(long) > MaxTunnelReply || strings.Count(long, "\n") != 1 || strings.ContainsRune(long, 0x1b) {
		t.Errorf("an error reply is not one bounded, printable line: %q", long)
	}
	err := ParseTunnelReply(strings.TrimSuffix(long, "\n"))
	if err == nil || errors.Is(err, ErrTunnelRefused) {
		t.Errorf("error: %v", err)
	}
	if err := ParseTunnelReply("\x1b[2Jwhat"); err == nil || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("an unknown answer: %v, want an error with the text quoted", err)
	}
}

func TestTunnelRequests(t *testing.T) {
	req, err := TunnelRequest("tcp", "127.0.0.1:8080")
	if err != nil || req != "tcp 127.0.0.1:8080\n" {
		t.Fatalf("TunnelRequest = %q, %v", req, err)
	}
	if n, a, err := ParseTunnelRequest(strings.TrimSuffix(req, "\n")); err != nil || n != "tcp" || a != "127.0.0.1:8080" {
		t.Errorf("ParseTunnelRequest = %q, %q, %v", n, a, err)
	}
	for _, bad := range [][2]string{{"unix", "/run/x.sock"}, {"tcp", "a b"}, {"tcp", strings.Repeat("h", MaxTunnelRequest)}} {
		if _, err := TunnelRequest(bad[0], bad[1]); err == nil {
			t.Errorf("TunnelRequest(%q, %q) accepted", bad[0], bad[1])
		}
	}
	for _, bad := range []string{"", "tcp", "udp 1.2.3.4:5", "tcp a b"} {
		if _, _, err := ParseTunnelRequest(bad); err == nil {
			t.Errorf("ParseTunnelRequest(%q) accepted", bad)
		}
	}
	if id, ok := ParseTunnelAbort(strings.TrimSuffix(TunnelAbortRequest(7), "\n")); !ok || id != 7 {
		t.Errorf("abort round trip: %d, %v", id, ok)
	}
	if _, ok := ParseTunnelAbort("abort 99999999999"); ok {
		t.Error("an abort ID over 32 bits was accepted")
	}
}
