package api

// The tunnel: a second virtio-serial port that carries forwarded TCP connections without the
// guest's sshd (which, under TCG, encrypts every byte in an emulated CPU).
//
// Virtio-serial gives the host no connect or disconnect signal: the host end stays connected when
// the guest agent restarts, a guest read returns EOF while no host is connected, and bytes queued in
// one direction can reach the next opener. So each use of the port starts with a handshake of text
// lines that either side can find in a stream of leftovers:
//
//	host:  RESET           (once, on connecting: see below)
//	guest: HELLO <nonce>   (repeated every second until the ACK arrives; a fresh random nonce per open)
//	host:  ACK <nonce>     (once per nonce; everything before a HELLO is discarded)
//	guest: READY <nonce>   (after which the guest speaks yamux as the server)
//	host:                  (on READY with the nonce it acknowledged, yamux as the client)
//
// Shared memory (package shmring): a host with an ivshmem ring starts a ring session for the nonce
// just before it sends the ACK. A guest that finds that session in its shared memory answers
// READYSHM instead of READY; then the host's yamux bytes go through the ring, and the host's
// direction of the port carries only doorbells (zero bytes: any other byte, such as a new host's
// RESET, ends the guest's session). The guest's bytes still go on the port.
//
// Each line is "\n", TunnelMagic, a space, the word, a space and the nonce (32 hex digits), then
// "\n": the leading newline ends whatever leftover came before, so the line is found whole.
// Either side discards every line that is not the one it waits for, and lines longer than
// MaxTunnelLine without keeping them. RESET (TunnelResetLine, no nonce) is for a guest that did not
// see the previous host go (it reconnected before the guest read): still in the old session, the
// guest reads it as a yamux frame of a bad version and starts over at once, instead of when its
// keepalive times out; a guest in the handshake discards it. Any yamux error ends the session on both sides; the guest then
// reopens the port and says HELLO with a new nonce, and the host scans for it.
//
// Only the host opens streams. Each stream starts with a request line from the host, "tcp ADDR\n"
// (at most MaxTunnelRequest bytes), and the guest's answer line (at most MaxTunnelReply bytes):
// "ok\n", "refused TEXT\n" when the guest's dial was refused (nothing listens), or "error TEXT\n".
// After "ok" the stream carries the connection's bytes both ways; closing a stream's write side
// (yamux FIN) is the half-close. yamux v0.1.2 cannot reset a stream, so when the host stops reading
// a stream before its end (the host client went away), it opens another stream with "abort ID\n",
// and the guest closes that stream's connection, which ends the stream from its side. A stream
// with "signal ID NAME\n" sends the command of exec stream ID a signal (exec.go).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TunnelPortName is the virtio-serial port of the tunnel (/dev/virtio-ports/NAME in the guest).
const TunnelPortName = "io.lima-vm.guest_agent.tunnel.0"

// Handshake words and bounds.
const (
	TunnelMagic = "LIMA-TUNNEL-1"
	TunnelHello = "HELLO"
	TunnelAck   = "ACK"
	TunnelReady = "READY"
	// TunnelReadyShm is READY when the host's bytes come through shared memory.
	TunnelReadyShm = "READYSHM"
	// TunnelResetLine is what the host sends on connecting, before it scans for HELLO.
	TunnelResetLine = "\n" + TunnelMagic + " RESET\n"
	// MaxTunnelLine bounds one handshake line; longer lines are discarded.
	MaxTunnelLine = 128
	// MaxTunnelRequest bounds a stream's request line, MaxTunnelReply its answer.
	MaxTunnelRequest = 512
	MaxTunnelReply   = 512
)

// TunnelLine formats a handshake line, with the leading newline.
func TunnelLine(word, nonce string) string {
	return "\n" + TunnelMagic + " " + word + " " + nonce + "\n"
}

// ParseTunnelLine splits a handshake line (without its newline) into word and nonce; ok is false for
// anything else.
func ParseTunnelLine(line []byte) (word, nonce string, ok bool) {
	f := strings.Fields(string(line))
	if len(f) != 3 || f[0] != TunnelMagic || len(f[2]) != 32 {
		return "", "", false
	}
	for _, c := range f[2] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", false
		}
	}
	return f[1], f[2], true
}

// LineScanner reads newline-terminated lines of at most max bytes with bounded memory: longer lines
// are skipped to their end. It is for the handshake, where the stream may hold any leftovers.
type LineScanner struct {
	R   *bufio.Reader
	Max int
}

// Next returns the next line no longer than Max, without its newline. The slice is valid until the
// next call.
func (s *LineScanner) Next() ([]byte, error) {
	skipping := false
	for {
		b, err := s.R.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			skipping = true
			continue
		case err != nil:
			return nil, err
		case skipping || len(b)-1 > s.Max:
			skipping = false
			continue
		}
		return b[:len(b)-1], nil
	}
}

// ErrTunnelRefused marks a stream whose guest dial was refused (nothing listens there).
var ErrTunnelRefused = errors.New("the guest refused the connection")

// ReadTunnelLine reads one line of at most limit bytes from r one byte at a time, so that nothing after
// the newline is consumed. It is for the request and the answer at the start of a stream; a line
// longer than limit is an error.
func ReadTunnelLine(r io.Reader, limit int) (string, error) {
	var buf []byte
	var b [1]byte
	for len(buf) <= limit {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if b[0] == '\n' {
			return string(buf), nil
		}
		buf = append(buf, b[0])
	}
	return "", fmt.Errorf("tunnel: a line longer than %d bytes", limit)
}

// ParseTunnelReply turns a guest's answer into nil (ok), an error wrapping ErrTunnelRefused, or
// another error. The guest's text is quoted, so it is printable when logged.
func ParseTunnelReply(line string) error {
	word, text, _ := strings.Cut(line, " ")
	switch word {
	case "ok":
		return nil
	case "refused":
		return fmt.Errorf("%w: %q", ErrTunnelRefused, text)
	case "error":
		return fmt.Errorf("the guest agent could not connect: %q", text)
	}
	return fmt.Errorf("tunnel: unexpected answer %q", line)
}

// TunnelRequest formats a stream's request.
func TunnelRequest(network, addr string) (string, error) {
	r := network + " " + addr + "\n"
	if network != "tcp" || strings.ContainsAny(addr, " \n") || len(r) > MaxTunnelRequest {
		return "", fmt.Errorf("tunnel: cannot request %s %q", network, addr)
	}
	return r, nil
}

// ParseTunnelRequest splits a request line (without its newline) into network and address.
func ParseTunnelRequest(line string) (network, addr string, err error) {
	network, addr, ok := strings.Cut(line, " ")
	if !ok || network != "tcp" || addr == "" || strings.ContainsAny(addr, " ") {
		return "", "", fmt.Errorf("tunnel: bad request %q", line)
	}
	return network, addr, nil
}

// TunnelAbortRequest formats the request that aborts stream id.
func TunnelAbortRequest(id uint32) string {
	return "abort " + strconv.FormatUint(uint64(id), 10) + "\n"
}

// ParseTunnelAbort recognises an abort request line (without its newline).
func ParseTunnelAbort(line string) (uint32, bool) {
	word, num, ok := strings.Cut(line, " ")
	if !ok || word != "abort" {
		return 0, false
	}
	id, err := strconv.ParseUint(num, 10, 32)
	return uint32(id), err == nil
}

// TunnelSignalRequest formats the request that sends the command of exec stream id the signal
// SSH names name ("TERM"). It takes no stream slot, as an abort does.
func TunnelSignalRequest(id uint32, name string) (string, error) {
	if name == "" || len(name) > 16 || strings.ContainsFunc(name, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return "", fmt.Errorf("tunnel: bad signal name %q", name)
	}
	return "signal " + strconv.FormatUint(uint64(id), 10) + " " + name + "\n", nil
}

// ParseTunnelSignal recognises a signal request line (without its newline).
func ParseTunnelSignal(line string) (uint32, string, bool) {
	f := strings.Split(line, " ")
	if len(f) != 3 || f[0] != "signal" {
		return 0, "", false
	}
	id, err := strconv.ParseUint(f[1], 10, 32)
	return uint32(id), f[2], err == nil
}

// TunnelReply formats a guest's answer: "ok" for a nil err, else "refused" or "error" with err's
// text on one line, cut to fit MaxTunnelReply.
func TunnelReply(err error, refused bool) string {
	if err == nil {
		return "ok\n"
	}
	word := "error "
	if refused {
		word = "refused "
	}
	text := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, err.Error())
	if limit := MaxTunnelReply - len(word) - 1; len(text) > limit {
		text = text[:limit]
	}
	return word + text + "\n"
}
