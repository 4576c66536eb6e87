package guestagent

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// execHost serves a tunnel session in-process and returns the host's yamux session.
func execHost(t *testing.T) (*yamux.Session, *tunnelServer) {
	t.Helper()
	return serveTestSession(t, 16)
}

// execResult is what the host saw of one command.
type execResult struct {
	reply          string
	stdout, stderr string
	exitType       byte
	exit           string
}

// runExec sends req with stdin, then reads frames to the exit; signal, when set, is sent once
// the first stdout frame arrived.
func runExec(t *testing.T, hs *yamux.Session, req api.ExecRequest, stdin string, signal string) execResult {
	t.Helper()
	st, err := hs.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	_ = st.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(st, api.TunnelExecRequest+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := api.WriteExecRequest(st, req); err != nil {
		t.Fatal(err)
	}
	var res execResult
	if res.reply, err = api.ReadTunnelLine(st, api.MaxTunnelReply); err != nil {
		t.Fatal(err)
	}
	if res.reply != "ok" {
		return res
	}
	var wmu sync.Mutex
	write := func(typ byte, p []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = api.WriteExecFrame(st, typ, p)
	}
	go func() {
		if stdin != "" {
			write(api.ExecStdin, []byte(stdin))
		}
		write(api.ExecStdinEOF, nil)
	}()
	var out, errOut bytes.Buffer
	buf := make([]byte, api.MaxExecFrame)
	for {
		typ, p, err := api.ReadExecFrame(st, buf)
		if err != nil {
			t.Fatalf("reading frames: %v (stdout %q, stderr %q)", err, out.String(), errOut.String())
		}
		switch typ {
		case api.ExecStdout:
			if signal != "" && out.Len() == 0 {
				sendSignal(t, hs, st.StreamID(), signal)
			}
			out.Write(p)
		case api.ExecStderr:
			errOut.Write(p)
		case api.ExecExit, api.ExecExitSignal:
			res.stdout, res.stderr, res.exitType, res.exit = out.String(), errOut.String(), typ, string(p)
			if _, err := st.Read(buf[:1]); !errors.Is(err, io.EOF) {
				t.Errorf("after the exit frame: %v, want EOF", err)
			}
			return res
		default:
			t.Fatalf("frame type %q", typ)
		}
	}
}

// selfRequest asks for command as this test's user, or as nobody (65534) when the test runs as
// root, as the guest agent does for the guest user.
// sendSignal asks for a signal to the command of stream id, on a stream of its own.
func sendSignal(t *testing.T, hs *yamux.Session, id uint32, name string) {
	t.Helper()
	req, err := api.TunnelSignalRequest(id, name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := hs.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(st, req); err != nil {
		t.Fatal(err)
	}
	if reply, err := api.ReadTunnelLine(st, api.MaxTunnelReply); err != nil || reply != "ok" {
		t.Errorf("signal %s: reply %q, %v", name, reply, err)
	}
}

func selfRequest(t *testing.T, command string) api.ExecRequest {
	t.Helper()
	sh := "/bin/bash"
	if _, err := os.Stat(sh); err != nil {
		t.Skip("no /bin/bash")
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if uid == 0 {
		uid, gid = 65534, 65534
	}
	dir, err := os.MkdirTemp("", "exec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return api.ExecRequest{
		UID: uid, GID: gid, Shell: sh, Command: command,
		Env: []string{"HOME=" + dir, "ONLY=this", "PATH=/usr/bin:/bin"}, Dir: dir,
	}
}

// TestExecRuns: the command runs as `SHELL -c COMMAND` with exactly the request's environment and
// directory, gets stdin to its EOF, keeps stdout and stderr apart and reports its exit status;
// the same holds when a spare shell runs it (the second and later commands). Like the lines of
// `limactl shell` (api.ExecRequest.Spare), the command execs its last command.
func TestExecRuns(t *testing.T) {
	hs, srv := execHost(t)
	req := selfRequest(t, `cat; echo "$0 $- $PWD"; ls -l /proc/self/fd/ | grep -e memfd -e " 11 ->" -e " 4 ->"; echo oops >&2; exec sh -c 'env | grep -v "^_=" | sort; cat /proc/self/oom_score_adj; umask; exit 3'`)
	req.Spare = true
	oomAdj := 123
	req.OOMScoreAdj = &oomAdj
	var umask uint32 = 0o027
	req.Umask = &umask
	var first execResult
	for i := range 4 {
		res := runExec(t, hs, req, "in\n", "")
		if res.reply != "ok" {
			t.Fatalf("run %d: reply %q", i, res.reply)
		}
		want := "in\nbash hBc " + req.Dir + "\n"
		if !strings.HasPrefix(res.stdout, want) {
			t.Errorf("run %d: stdout %q, want it to start with %q", i, res.stdout, want)
		}
		for _, v := range []string{"ONLY=this", "PWD=" + req.Dir, "SHLVL=0", "123", "0027"} { // bash lowers SHLVL for an exec
			if !strings.Contains(res.stdout, v+"\n") {
				t.Errorf("run %d: %s missing from the environment:\n%s", i, v, res.stdout)
			}
		}
		if strings.Contains(res.stdout, "LIMA") || strings.Contains(res.stdout, "GOCOVERDIR") {
			t.Errorf("run %d: the agent's environment leaked:\n%s", i, res.stdout)
		}
		if res.stderr != "oops\n" || res.exitType != api.ExecExit || res.exit != "3" {
			t.Errorf("run %d: stderr %q, exit %q %q; want oops, x 3", i, res.stderr, res.exitType, res.exit)
		}
		if i == 0 {
			first = res
		} else if res.stdout != first.stdout {
			t.Errorf("run %d (spare shell) differs from the first:\n%s\nvs\n%s", i, res.stdout, first.stdout)
		}
		time.Sleep(200 * time.Millisecond) // let the spare start
	}
	if n := srv.spares.used.Load(); n < 2 {
		t.Errorf("spare shells ran %d of the 4 commands, want 2 or more", n)
	}
}

// TestExecSignal: a signal from the host reaches the command, whose end is reported as one, also
// when a spare shell runs it (the second and third runs).
func TestExecSignal(t *testing.T) {
	hs, srv := execHost(t)
	req := selfRequest(t, `echo up; exec sleep 30`)
	req.Spare = true
	defer func() {
		if n := srv.spares.used.Load(); n < 1 {
			t.Errorf("spare shells ran %d of the 3 commands, want 1 or more", n)
		}
	}()
	for i := range 3 {
		begin := time.Now()
		res := runExec(t, hs, req, "", "TERM")
		if res.exitType != api.ExecExitSignal || res.exit != "TERM" {
			t.Errorf("run %d: exit %q %q, want k TERM", i, res.exitType, res.exit)
		}
		if d := time.Since(begin); d > 15*time.Second {
			t.Errorf("run %d: took %v", i, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestExecRefusals: a bad shell or directory is refused with an error reply (the host then runs
// the command over SSH), and so is a header longer than the bound, without reading it.
func TestExecRefusals(t *testing.T) {
	hs, _ := execHost(t)
	req := selfRequest(t, "true")
	req.Shell = "bash"
	if res := runExec(t, hs, req, "", ""); !strings.HasPrefix(res.reply, "error ") {
		t.Errorf("a relative shell: reply %q", res.reply)
	}
	req = selfRequest(t, "true")
	req.Dir = filepath.Join(req.Dir, "missing")
	if res := runExec(t, hs, req, "", ""); !strings.HasPrefix(res.reply, "error ") {
		t.Errorf("a missing directory: reply %q", res.reply)
	}
	st, err := hs.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := st.Write([]byte(api.TunnelExecRequest + "\n\xff\xff\xff\xff")); err != nil {
		t.Fatal(err)
	}
	if reply, err := api.ReadTunnelLine(st, api.MaxTunnelReply); err != nil || !strings.HasPrefix(reply, "error ") {
		t.Errorf("a 4 GiB header: reply %q, %v", reply, err)
	}
}
