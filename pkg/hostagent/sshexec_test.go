package hostagent

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// fakeChannel is the client's side of a session as readExecOutput sees it.
type fakeChannel struct {
	out, errOut bytes.Buffer
}

func (c *fakeChannel) Read([]byte) (int, error)                       { return 0, io.EOF }
func (c *fakeChannel) Write(p []byte) (int, error)                    { return c.out.Write(p) }
func (c *fakeChannel) Close() error                                   { return nil }
func (c *fakeChannel) CloseWrite() error                              { return nil }
func (c *fakeChannel) Stderr() io.ReadWriter                          { return &c.errOut }
func (c *fakeChannel) SendRequest(string, bool, []byte) (bool, error) { return true, nil }

func frame(typ byte, p string) string {
	var h [5]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[1:], uint32(len(p)))
	return string(h[:]) + p
}

// TestReadExecOutputHostile plays a hostile guest agent: output frames reach the client as they
// are, but a frame longer than the bound (never read, never allocated), a bad exit status or
// signal name, an unknown frame type or an end before the exit frame report no exit status (the
// client then fails with 255, as when sshd dies), never a made-up one.
func TestReadExecOutputHostile(t *testing.T) {
	for _, tc := range []struct {
		name, stream   string
		exit           string
		stdout, stderr string
	}{
		{"ok", frame(api.ExecStdout, "out") + frame(api.ExecStderr, "err") + frame(api.ExecExit, "3"), "exit-status", "out", "err"},
		{"signal", frame(api.ExecExitSignal, "TERM core"), "exit-signal", "", ""},
		{"huge frame", frame(api.ExecStdout, "a")[:1] + "\xff\xff\xff\xff" + strings.Repeat("x", 100), "", "", ""},
		{"status too big", frame(api.ExecExit, "300"), "", "", ""},
		{"status not a number", frame(api.ExecExit, "-1"), "", "", ""},
		{"signal with junk", frame(api.ExecExitSignal, "TERM\x1b[2J"), "", "", ""},
		{"signal too long", frame(api.ExecExitSignal, strings.Repeat("A", 64)), "", "", ""},
		{"unknown type", frame('z', "") + frame(api.ExecExit, "0"), "", "", ""},
		{"end before the exit", frame(api.ExecStdout, "partial"), "", "partial", ""},
		{"cut frame", frame(api.ExecStdout, "partial")[:8], "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := &fakeChannel{}
			typ, _ := readExecOutput(ch, strings.NewReader(tc.stream))
			if typ != tc.exit || ch.out.String() != tc.stdout || ch.errOut.String() != tc.stderr {
				t.Errorf("exit %q, stdout %q, stderr %q; want %q, %q, %q", typ, ch.out.String(), ch.errOut.String(), tc.exit, tc.stdout, tc.stderr)
			}
		})
	}
}

// TestParseExecBase reads what the mux's SSH session tells of itself, and refuses what a hostile
// guest could send instead.
func TestParseExecBase(t *testing.T) {
	good := "motd\n" + execBaseBegin + "HOME=/home/u\x00SHELL=/bin/bash\x00A=b=c\x00" + execBaseEnd +
		"1000\n1000\n1000 27\n0::/user.slice/user-1000.slice/session-3.scope\n" +
		"Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max open files            1024                 524288               files     \n" +
		"Max locked memory         unlimited            unlimited            bytes     \n" +
		"oom_score_adj 0\n" +
		"umask 0002\n"
	b, err := parseExecBase([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if b.uid != 1000 || b.gid != 1000 || len(b.groups) != 2 || b.shell != "/bin/bash" || b.home != "/home/u" ||
		b.cgroup != "/user.slice/user-1000.slice/session-3.scope" || len(b.env) != 3 || len(b.limits) != 2 ||
		b.oomAdj == nil || *b.oomAdj != 0 || b.umask == nil || *b.umask != 0o002 {
		t.Errorf("parsed %+v", b)
	}
	for _, l := range b.limits {
		if l.Resource == "memlock" && (l.Soft != api.RlimInfinity || l.Hard != api.RlimInfinity) {
			t.Errorf("memlock %+v, want unlimited", l)
		}
		if l.Resource == "nofile" && (l.Soft != 1024 || l.Hard != 524288) {
			t.Errorf("nofile %+v", l)
		}
	}
	for name, bad := range map[string]string{
		"no begin":        strings.Replace(good, execBaseBegin, "", 1),
		"no end":          strings.Replace(good, execBaseEnd, "", 1),
		"relative shell":  strings.Replace(good, "SHELL=/bin/bash", "SHELL=bash", 1),
		"entry without =": strings.Replace(good, "A=b=c", "junk", 1),
		"bad uid":         strings.Replace(good, execBaseEnd+"1000\n", execBaseEnd+"-1\n", 1),
		"two uids":        strings.Replace(good, execBaseEnd+"1000\n", execBaseEnd+"0 1000\n", 1),
		"no ids":          good[:strings.Index(good, execBaseEnd)+len(execBaseEnd)],
		"too many vars":   strings.Replace(good, "A=b=c\x00", strings.Repeat("A=b\x00", execBaseMaxVars+1), 1),
	} {
		if b, err := parseExecBase([]byte(bad)); err == nil {
			t.Errorf("%s: parsed %+v", name, b)
		}
	}
	// A cgroup path that is not clean, or limits out of order, are left out, not refused.
	odd := strings.Replace(good, "0::/user.slice/user-1000.slice/session-3.scope", "0::/user.slice/../../x", 1)
	odd = strings.Replace(odd, "1024                 524288", "524288               1024", 1)
	odd = strings.Replace(odd, "oom_score_adj 0", "oom_score_adj -5000", 1)
	odd = strings.Replace(odd, "umask 0002", "umask 1777", 1)
	if b, err := parseExecBase([]byte(odd)); err != nil || b.cgroup != "" || len(b.limits) != 1 || b.oomAdj != nil || b.umask != nil {
		t.Errorf("odd answer: %+v, %v; want no cgroup, only the memlock limit, no OOM score, no umask", b, err)
	}
}
