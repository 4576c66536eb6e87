// Package api is the wire protocol between the guest agent (lima-guestagent, in the guest) and the
// host agent: newline-delimited JSON objects over one byte stream (the virtio-serial port, or a vsock
// connection).
//
// The guest sends an Info message (the full list of listening ports) whenever the host asks for it
// with a GetInfo request, and an Event message (ports added and removed) after every change it
// sees. A vsock connection gets an Info at once; on virtio-serial the guest cannot tell that the host
// connected until the host writes, so the host starts every connection with GetInfo.
//
// The host also sends Inotify messages when mountInotify is on: files under a mount changed on the
// host, and the guest touches them (sets their times to the host's mtime) so that inotify watchers
// in the guest see the change, which 9p, virtiofs and sshfs do not report on their own. A guest
// agent that predates the message ignores it, like any message type it does not know.
//
// The package also holds the framing of the UDP relay (`lima-guestagent udp-relay`): datagrams as a
// 2-byte big-endian length followed by the payload, in both directions.
package api

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"time"
)

// Message types.
const (
	TypeInfo    = "info"    // guest → host: LocalPorts is the full current set
	TypeEvent   = "event"   // guest → host: Added and Removed since the previous message
	TypeGetInfo = "getInfo" // host → guest: please send an Info
	TypeInotify = "inotify" // host → guest: Inotify lists guest paths changed on the host
)

// InotifyEvent is one file changed on the host, named by its path in the guest.
type InotifyEvent struct {
	Path  string    `json:"path"`  // absolute guest path, under a mount point
	MTime time.Time `json:"mtime"` // the host file's modification time
}

// Protocols of a Port.
const (
	ProtoTCP = "tcp"
	ProtoUDP = "udp"
)

// Port is one listening TCP socket or unconnected UDP socket in the guest.
type Port struct {
	IP    string `json:"ip"` // as the guest bound it: "0.0.0.0", "::", "127.0.0.1", "::1", ...
	Port  int    `json:"port"`
	Proto string `json:"proto"` // ProtoTCP or ProtoUDP
}

// Addr returns "IP:PORT" (brackets for IPv6).
func (p Port) Addr() string { return net.JoinHostPort(p.IP, strconv.Itoa(p.Port)) }

// String is "tcp 127.0.0.1:8080".
func (p Port) String() string { return p.Proto + " " + p.Addr() }

// SortPorts orders ports by proto, IP and port number, so messages are deterministic.
func SortPorts(ps []Port) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.IP != b.IP {
			return a.IP < b.IP
		}
		return a.Port < b.Port
	})
}

// Message is one line of the protocol; Type says which fields are set.
type Message struct {
	Type       string         `json:"type"`
	Time       time.Time      `json:"time,omitzero"`
	LocalPorts []Port         `json:"localPorts,omitempty"` // TypeInfo
	Added      []Port         `json:"added,omitempty"`      // TypeEvent
	Removed    []Port         `json:"removed,omitempty"`    // TypeEvent
	Errors     []string       `json:"errors,omitempty"`     // TypeEvent or TypeInfo: scan problems worth logging
	Inotify    []InotifyEvent `json:"inotify,omitempty"`    // TypeInotify
}

// MaxLine bounds one message; a guest with thousands of listeners still fits. A reader holds at
// most this much of a line in memory: a longer one is skipped (ErrBadLine).
const MaxLine = 4 << 20

// Encoder writes messages, one JSON line each. It is not safe for concurrent use.
type Encoder struct{ w io.Writer }

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes m followed by a newline in a single Write.
func (e *Encoder) Encode(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(b, '\n'))
	return err
}

// ErrBadLine marks a line that Decode skipped: longer than MaxLine, or not a message. The
// stream is still usable: the next Decode reads the next line.
var ErrBadLine = errors.New("guest agent protocol: bad line")

// Decoder reads messages written by an Encoder.
type Decoder struct{ r *bufio.Reader }

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10)}
}

// Decode reads the next message. Blank lines are skipped; io.EOF at the end of the stream. A line
// longer than MaxLine is read to its end without being kept, and reported, like a line that is not
// a message, with an error wrapping ErrBadLine; Decode may then be called again.
func (d *Decoder) Decode() (Message, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return Message{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return Message{}, fmt.Errorf("%w %q: %w", ErrBadLine, truncate(line), err)
		}
		return m, nil
	}
}

// readLine returns the next line without its newline; the last line may lack one.
func (d *Decoder) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(line)+len(chunk) > MaxLine+1 { // +1: the newline
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = d.r.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: longer than %d bytes, skipped", ErrBadLine, MaxLine)
		}
		line = append(line, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// Valid reports why p cannot be a listening socket, or nil: the IP must be an IP address written
// the canonical way (so one socket has one spelling), the port in 1-65535, the protocol tcp or udp.
// A host checks every port a guest reports before acting on it.
func (p Port) Valid() error {
	a, err := netip.ParseAddr(p.IP)
	switch {
	case err != nil || a.Zone() != "" || a.String() != p.IP:
		return fmt.Errorf("not a canonical IP address: %q", p.IP)
	case p.Port < 1 || p.Port > 65535:
		return fmt.Errorf("port %d out of range", p.Port)
	case p.Proto != ProtoTCP && p.Proto != ProtoUDP:
		return fmt.Errorf("unknown protocol %q", p.Proto)
	}
	return nil
}

// MaxDatagram is the largest UDP payload the relay carries.
const MaxDatagram = 65535

// WriteDatagram writes one relay frame: a 2-byte big-endian length, then p.
func WriteDatagram(w io.Writer, p []byte) error {
	if len(p) > MaxDatagram {
		return fmt.Errorf("datagram of %d bytes is larger than %d", len(p), MaxDatagram)
	}
	buf := make([]byte, 2+len(p))
	binary.BigEndian.PutUint16(buf, uint16(len(p)))
	copy(buf[2:], p)
	_, err := w.Write(buf)
	return err
}

// ReadDatagram reads one relay frame into buf (which must hold MaxDatagram bytes) and returns the
// payload. io.EOF at a clean end of the stream.
func ReadDatagram(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("udp relay: truncated frame header: %w", err)
		}
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n > len(buf) {
		return nil, fmt.Errorf("udp relay: frame of %d bytes does not fit a %d-byte buffer", n, len(buf))
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, fmt.Errorf("udp relay: truncated frame: %w", err)
	}
	return buf[:n], nil
}

// MarshalJSON always writes localPorts for an Info, even when empty: "no listeners" is an answer.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	if m.Type != TypeInfo {
		return json.Marshal(plain(m))
	}
	ports := m.LocalPorts
	if ports == nil {
		ports = []Port{}
	}
	return json.Marshal(struct {
		plain
		LocalPorts []Port `json:"localPorts"`
	}{plain(m), ports})
}
