package api

// Exec streams: a command run by the guest agent for `limactl shell` without a terminal, instead of
// by the guest's sshd (whose session, under TCG, costs tens of milliseconds per command).
//
// The host opens a tunnel stream with the request line "exec\n", then sends the header: a 4-byte
// big-endian length and that many bytes of JSON (ExecRequest, at most MaxExecRequest). The guest
// answers with a reply line (TunnelReply): "ok" once the command runs, "error TEXT" when it could
// not start it (the host then runs it over SSH). After "ok" both sides send frames: one type byte,
// a 4-byte big-endian length and the payload (at most MaxExecFrame bytes).
//
//	host:  ExecStdin (bytes), ExecStdinEOF
//	guest: ExecStdout, ExecStderr (bytes), then one ExecExit (the exit status in decimal) or
//	       ExecExitSignal (the signal name, then " core" when it dumped core), then the end of the stream
//
// The guest sends the exit frame once the command has exited and its stdout and stderr are closed
// (as sshd does, a background job that keeps them open holds the session). The end of the host's
// side of the stream before ExecStdinEOF closes the command's stdin; the host aborting the stream
// (TunnelAbortRequest) closes its stdin, stdout and stderr, as sshd does when the channel goes,
// and ends the stream at once. Signals travel on streams of their own (TunnelSignalRequest), so
// that a command that does not read its stdin, which stops the stream's frames, still gets them.
// When the guest cannot tell the host that the command started, it kills it: the host, not knowing,
// may run it over SSH.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// TunnelExecRequest is the request line of an exec stream, without its newline.
const TunnelExecRequest = "exec"

// ExecRequest is what the host asks the guest agent to run: Shell -c Command (argv[0] the shell's
// base name, as sshd runs a command) as UID:GID with Groups, in a new session, in Dir with exactly
// Env, and in the cgroup Cgroup (a path under the cgroup2 root, as /proc/PID/cgroup shows it) when
// it is not empty. Spare says that Command's last command is the one that matters (the line of
// `limactl shell`), so that a shell started ahead may run it (guestagent/spare.go).
type ExecRequest struct {
	UID     uint32   `json:"uid"`
	GID     uint32   `json:"gid"`
	Groups  []uint32 `json:"groups,omitempty"`
	Shell   string   `json:"shell"`
	Command string   `json:"command"`
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`
	Cgroup  string   `json:"cgroup,omitempty"`
	// Limits are the resource limits to set on the command (those of the SSH session).
	Limits []ExecLimit `json:"limits,omitempty"`
	// OOMScoreAdj, when set, is the command's /proc/PID/oom_score_adj (the SSH session's).
	OOMScoreAdj *int `json:"oomScoreAdj,omitempty"`
	// Umask, when set, is the command's umask (the SSH session's: pam_umask may set it).
	Umask *uint32 `json:"umask,omitempty"`
	Spare bool    `json:"spare,omitempty"`
}

// ExecLimit is one resource limit: Resource is the lower-case name of RLIMIT_<NAME> ("nofile",
// "memlock"...); Soft and Hard are in the resource's unit, RlimInfinity for unlimited.
type ExecLimit struct {
	Resource string `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

// RlimInfinity is an unlimited resource limit.
const RlimInfinity = ^uint64(0)

// ProcLimitNames maps the names /proc/PID/limits shows to ExecLimit.Resource.
var ProcLimitNames = map[string]string{
	"Max cpu time": "cpu", "Max file size": "fsize", "Max data size": "data", "Max stack size": "stack",
	"Max core file size": "core", "Max resident set": "rss", "Max processes": "nproc",
	"Max open files": "nofile", "Max locked memory": "memlock", "Max address space": "as",
	"Max file locks": "locks", "Max pending signals": "sigpending", "Max msgqueue size": "msgqueue",
	"Max nice priority": "nice", "Max realtime priority": "rtprio", "Max realtime timeout": "rttime",
}

// Bounds of exec streams.
const (
	// MaxExecRequest bounds the header (a command line and an environment).
	MaxExecRequest = 4 << 20
	// MaxExecFrame bounds a frame's payload.
	MaxExecFrame = 32 << 10
)

// Frame types of exec streams.
const (
	ExecStdin      byte = 'i'
	ExecStdinEOF   byte = 'e'
	ExecStdout     byte = 'o'
	ExecStderr     byte = 'r'
	ExecExit       byte = 'x'
	ExecExitSignal byte = 'k'
)

// WriteExecRequest writes the header of an exec stream (after its request line).
func WriteExecRequest(w io.Writer, r ExecRequest) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if len(b) > MaxExecRequest {
		return fmt.Errorf("exec: the request is %d bytes, more than %d", len(b), MaxExecRequest)
	}
	buf := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	_, err = w.Write(append(buf, b...))
	return err
}

// ReadExecRequest reads the header of an exec stream.
func ReadExecRequest(r io.Reader) (ExecRequest, error) {
	var req ExecRequest
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return req, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > MaxExecRequest {
		return req, fmt.Errorf("exec: a request of %d bytes, more than %d", size, MaxExecRequest)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return req, err
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("exec: bad request: %w", err)
	}
	return req, nil
}

// WriteExecFrame writes one frame; p must not be longer than MaxExecFrame.
func WriteExecFrame(w io.Writer, typ byte, p []byte) error {
	if len(p) > MaxExecFrame {
		return fmt.Errorf("exec: a frame of %d bytes, more than %d", len(p), MaxExecFrame)
	}
	buf := make([]byte, 5, 5+len(p))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:], uint32(len(p)))
	_, err := w.Write(append(buf, p...))
	return err
}

// ErrExecFrame marks a frame that breaks the protocol (too long).
var ErrExecFrame = errors.New("exec: bad frame")

// ReadExecFrame reads one frame into buf (which must hold MaxExecFrame bytes) and returns its type
// and payload, a slice of buf. A payload longer than MaxExecFrame is an error wrapping ErrExecFrame,
// read no further.
func ReadExecFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(h[1:])
	if size > MaxExecFrame || int(size) > len(buf) {
		return 0, nil, fmt.Errorf("%w: type %q, %d bytes", ErrExecFrame, h[0], size)
	}
	p := buf[:size]
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return h[0], p, nil
}
