package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWireFormat(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := Port{IP: "127.0.0.1", Port: 8080, Proto: ProtoTCP}
	msgs := []Message{
		{Type: TypeGetInfo},
		{Type: TypeInfo, Time: ts},
		{Type: TypeInfo, Time: ts, LocalPorts: []Port{p}},
		{Type: TypeEvent, Time: ts, Added: []Port{p}, Removed: []Port{{IP: "::", Port: 53, Proto: ProtoUDP}}},
		{Type: TypeInotify, Inotify: []InotifyEvent{{Path: "/tmp/lima/a b.txt", MTime: ts.Add(123456789)}}},
	}
	want := `{"type":"getInfo"}
{"type":"info","time":"2026-01-02T03:04:05Z","localPorts":[]}
{"type":"info","time":"2026-01-02T03:04:05Z","localPorts":[{"ip":"127.0.0.1","port":8080,"proto":"tcp"}]}
{"type":"event","time":"2026-01-02T03:04:05Z","added":[{"ip":"127.0.0.1","port":8080,"proto":"tcp"}],"removed":[{"ip":"::","port":53,"proto":"udp"}]}
{"type":"inotify","inotify":[{"path":"/tmp/lima/a b.txt","mtime":"2026-01-02T03:04:05.123456789Z"}]}
`
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, m := range msgs {
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("wire format (-want +got):\n%s", diff)
	}
	dec := NewDecoder(strings.NewReader("\n" + buf.String()))
	for i, w := range msgs {
		got, err := dec.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if w.Type == TypeInfo && w.LocalPorts == nil {
			w.LocalPorts = []Port{}
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("message %d (-want +got):\n%s", i, diff)
		}
	}
	if _, err := dec.Decode(); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	// A message from a newer peer, with a type and fields this side does not know, still decodes.
	if m, err := NewDecoder(strings.NewReader(`{"type":"later","extra":[1]}` + "\n")).Decode(); err != nil || m.Type != "later" {
		t.Errorf("unknown message: %+v, %v", m, err)
	}
	if _, err := NewDecoder(strings.NewReader("not json\n")).Decode(); !errors.Is(err, ErrBadLine) {
		t.Errorf("a bad line: %v, want ErrBadLine", err)
	}
}

// TestDecoderSkipsBadLines: a guest's line longer than MaxLine is skipped without being held in
// memory, and so is a line that is not a message; the messages after them still arrive.
func TestDecoderSkipsBadLines(t *testing.T) {
	huge := `{"type":"info","errors":["` + strings.Repeat("x", MaxLine) + `"]}`
	in := huge + "\n" + "\x1b[2J not json\n" + `{"type":"event"}` + "\n" + strings.Repeat("y", 3*MaxLine) + "\n" + `{"type":"info"}`
	dec := NewDecoder(strings.NewReader(in))
	var got []string
	for {
		m, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrBadLine) {
			if len(err.Error()) > 300 {
				t.Errorf("the error quotes too much of the line: %d bytes", len(err.Error()))
			}
			got = append(got, "bad")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Type)
	}
	if want := []string{"bad", "bad", "event", "bad", "info"}; !cmp.Equal(got, want) {
		t.Errorf("decoded %q, want %q", got, want)
	}
	if _, err := NewDecoder(strings.NewReader(in)).Decode(); !strings.Contains(fmt.Sprint(err), "longer than") {
		t.Errorf("oversized line: %v", err)
	}
}

func TestPortValid(t *testing.T) {
	for _, p := range []Port{{"127.0.0.1", 80, ProtoTCP}, {"::", 53, ProtoUDP}, {"::ffff:10.0.0.1", 65535, ProtoTCP}} {
		if err := p.Valid(); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}
	for _, p := range []Port{
		{"localhost", 80, ProtoTCP}, {"127.0.0.01", 80, ProtoTCP}, {"0:0::0", 80, ProtoTCP}, {"fe80::1%eth0", 80, ProtoTCP},
		{"\x1b[31m", 80, ProtoTCP}, {"127.0.0.1", 0, ProtoTCP}, {"127.0.0.1", 70000, ProtoTCP}, {"127.0.0.1", 80, "sctp"},
	} {
		if err := p.Valid(); err == nil {
			t.Errorf("%+v is valid, want an error", p)
		}
	}
}

func TestDatagramFraming(t *testing.T) {
	var buf bytes.Buffer
	for _, d := range []string{"a", "", strings.Repeat("x", MaxDatagram)} {
		if err := WriteDatagram(&buf, []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteDatagram(&buf, make([]byte, MaxDatagram+1)); err == nil {
		t.Error("an oversized datagram was framed")
	}
	b := make([]byte, MaxDatagram)
	for _, want := range []int{1, 0, MaxDatagram} {
		got, err := ReadDatagram(&buf, b)
		if err != nil || len(got) != want {
			t.Fatalf("ReadDatagram = %d bytes, %v; want %d", len(got), err, want)
		}
	}
	if _, err := ReadDatagram(&buf, b); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	if _, err := ReadDatagram(bytes.NewReader([]byte{0, 5, 'a'}), b); err == nil {
		t.Error("a truncated frame was read")
	}
}
