package guestagent

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/sshutil"
)

// openExec opens an exec stream for req and reads the reply.
func openExec(t *testing.T, hs *yamux.Session, req api.ExecRequest) (*yamux.Stream, string) {
	t.Helper()
	st, err := hs.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_ = st.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(st, api.TunnelExecRequest+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := api.WriteExecRequest(st, req); err != nil {
		t.Fatal(err)
	}
	reply, err := api.ReadTunnelLine(st, api.MaxTunnelReply)
	if err != nil {
		t.Fatal(err)
	}
	return st, reply
}

// TestExecAbortEndsStream: the host aborts an exec stream (its client went away: the channel
// closed, limactl was killed) while the command runs and writes nothing. The guest must end its
// side of the stream at once, without waiting for the command (which goes on, as under sshd): the
// host drops the whole tunnel session, every forwarded connection with it, when an aborted stream
// is not ended within 30 s.
func TestExecAbortEndsStream(t *testing.T) {
	hs, _ := execHost(t)
	req := selfRequest(t, `exec sleep 20`)
	st, reply := openExec(t, hs, req)
	if reply != "ok" {
		t.Fatalf("reply %q", reply)
	}
	_ = st.Close() // the host's half-close, as tunnelStream.Close does
	ab, err := hs.Open()
	if err != nil {
		t.Fatal(err)
	}
	_ = ab.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(ab, api.TunnelAbortRequest(st.StreamID())); err != nil {
		t.Fatal(err)
	}
	if r, err := api.ReadTunnelLine(ab, api.MaxTunnelReply); err != nil || r != "ok" {
		t.Fatalf("abort: %q %v", r, err)
	}
	_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, st)
	if err != nil {
		t.Errorf("the guest did not end an aborted exec stream within 5 s (%v); the host drops the tunnel session after 30 s", err)
	}
}

// TestExecSpareNUL: a command line with a NUL byte is refused (execve cannot take it, and sshd
// refuses it), also when a spare shell waits, which reads its line up to a NUL and would run only
// what comes before.
func TestExecSpareNUL(t *testing.T) {
	hs, srv := execHost(t)
	req := selfRequest(t, "true")
	req.Spare = true
	if res := runExec(t, hs, req, "", ""); res.reply != "ok" {
		t.Fatalf("true: %q", res.reply)
	}
	time.Sleep(300 * time.Millisecond) // a spare starts
	req.Command = "echo before\x00echo after"
	var replies, outs []string
	for range 3 {
		res := runExec(t, hs, req, "", "")
		replies = append(replies, res.reply)
		if res.reply == "ok" {
			outs = append(outs, res.stdout)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if srv.spares.used.Load() > 0 || len(outs) > 0 {
		t.Errorf("replies %q; a line with a NUL ran: outputs %q", replies, outs)
	}
}

// TestExecSpareNoFdLeak: the user's command gets only fds 0-2 (plus the one ls opens), also from
// a spare shell.
func TestExecSpareNoFdLeak(t *testing.T) {
	hs, _ := execHost(t)
	req := selfRequest(t, `exec ls -l /proc/self/fd`)
	req.Spare = true
	for i := range 3 {
		res := runExec(t, hs, req, "", "")
		if res.reply != "ok" {
			t.Fatal(res.reply)
		}
		// fds the test process itself leaks (inherited without CLOEXEC) are not the spare's.
		n := 0
		for _, l := range strings.Split(res.stdout, "\n") {
			if f := strings.Fields(l); len(f) > 8 && (f[8] == "4" || f[8] == "5" || f[8] == "6") {
				n++
			}
		}
		if n != 0 {
			t.Errorf("run %d: %d fds:\n%s", i, n, res.stdout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestExecSpareBashrcFd: a ~/.bashrc that bash reads for `bash -c` under sshd (Debian's bash,
// SSH_CLIENT set) and opens fd 3 for itself: the spare shell, which reads its line from another
// fd, still runs the command.
func TestExecSpareBashrcFd(t *testing.T) {
	hs, srv := execHost(t)
	req := selfRequest(t, `echo RAN; exit 5`)
	req.Spare = true
	req.Env = append(req.Env, "SSH_CLIENT=127.0.0.1 40000 22")
	home := req.Dir
	if err := os.WriteFile(home+"/.bashrc", []byte("exec 3</dev/null\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	_ = os.Chtimes(home+"/.bashrc", past, past)
	for i := range 3 {
		res := runExec(t, hs, req, "", "")
		if res.stdout != "RAN\n" || res.exit != "5" {
			t.Errorf("run %d (spares used so far %d): stdout %q exit %q; want RAN and 5", i, srv.spares.used.Load(), res.stdout, res.exit)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestExecSpareAfterRecord: a spare started before a login environment record was written (the
// line would take the record for one from the future and run the login shell) is not used; the
// next one is.
func TestExecSpareAfterRecord(t *testing.T) {
	if loginEnvDirName != sshutil.LoginEnvDirName {
		t.Fatalf("the guest agent watches %q, the line writes to %q", loginEnvDirName, sshutil.LoginEnvDirName)
	}
	hs, srv := execHost(t)
	req := selfRequest(t, "true")
	req.Spare = true
	run := func() {
		t.Helper()
		if res := runExec(t, hs, req, "", ""); res.reply != "ok" || res.exit != "0" {
			t.Fatalf("true: %+v", res)
		}
		time.Sleep(300 * time.Millisecond) // the next spare starts
	}
	run()
	run()
	if n := srv.spares.used.Load(); n != 1 {
		t.Fatalf("spares ran %d of 2 commands, want 1", n)
	}
	if err := os.MkdirAll(filepath.Join(req.Dir, ".cache", loginEnvDirName), 0o700); err != nil {
		t.Fatal(err)
	}
	run()
	if n := srv.spares.used.Load(); n != 1 {
		t.Errorf("a spare older than the records ran a command (%d)", n)
	}
	run()
	if n := srv.spares.used.Load(); n != 2 {
		t.Errorf("spares ran %d commands, want 2: the one started after the records", n)
	}
}
