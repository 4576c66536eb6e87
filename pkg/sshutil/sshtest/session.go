package sshtest

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// serveSession handles one "session" channel: env, pty-req and window-change are recorded, then
// exactly one of exec, shell or subsystem sftp runs; signal is delivered to the running command.
func (s *Server) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	env := s.env()
	var (
		mu      sync.Mutex
		proc    *os.Process
		started bool
		done    = make(chan struct{})
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-done:
		default:
			if proc != nil {
				_ = proc.Kill()
			}
		}
	}()
	for {
		var r *ssh.Request
		select {
		case r = <-reqs:
		case <-done:
			go ssh.DiscardRequests(reqs)
			return
		}
		if r == nil {
			return
		}
		switch r.Type {
		case "env":
			var p struct{ Name, Value string }
			if ssh.Unmarshal(r.Payload, &p) == nil {
				env = append(env, p.Name+"="+p.Value)
			}
			_ = r.Reply(true, nil)
		case "pty-req":
			var p struct {
				Term       string
				Cols, Rows uint32
				W, H       uint32
				Modes      string
			}
			if err := ssh.Unmarshal(r.Payload, &p); err != nil {
				_ = r.Reply(false, nil)
				continue
			}
			s.mu.Lock()
			s.ptys = append(s.ptys, PTYRequest{Term: p.Term, Cols: int(p.Cols), Rows: int(p.Rows)})
			s.mu.Unlock()
			env = append(env, "TERM="+p.Term, "COLUMNS="+strconv.Itoa(int(p.Cols)), "LINES="+strconv.Itoa(int(p.Rows)))
			_ = r.Reply(true, nil)
		case "window-change":
			var p struct{ Cols, Rows, W, H uint32 }
			if ssh.Unmarshal(r.Payload, &p) == nil {
				s.mu.Lock()
				s.resizes = append(s.resizes, PTYRequest{Cols: int(p.Cols), Rows: int(p.Rows)})
				s.mu.Unlock()
			}
			_ = r.Reply(true, nil)
		case "signal":
			var p struct{ Signal string }
			_ = ssh.Unmarshal(r.Payload, &p)
			mu.Lock()
			if sig, ok := signalByName(p.Signal); ok && proc != nil {
				_ = proc.Signal(sig)
			}
			mu.Unlock()
			_ = r.Reply(true, nil)
		case "exec", "shell":
			if started {
				_ = r.Reply(false, nil)
				continue
			}
			args := []string{"-l"}
			if r.Type == "exec" {
				var p struct{ Command string }
				if err := ssh.Unmarshal(r.Payload, &p); err != nil {
					_ = r.Reply(false, nil)
					continue
				}
				args = []string{"-c", p.Command}
			}
			cmd := exec.Command(s.shell, args...)
			cmd.Dir, cmd.Env = s.Home, env
			cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
			cmd.WaitDelay = 5 * time.Second
			stdin, err := cmd.StdinPipe()
			if err == nil {
				err = cmd.Start()
			}
			if err != nil {
				_ = r.Reply(false, nil)
				continue
			}
			started = true
			mu.Lock()
			proc = cmd.Process
			mu.Unlock()
			_ = r.Reply(true, nil)
			go func() {
				_, _ = io.Copy(stdin, ch)
				stdin.Close()
			}()
			go func() {
				werr := cmd.Wait()
				_ = ch.CloseWrite()
				sendExit(ch, cmd.ProcessState, werr)
				close(done)
			}()
		case "subsystem":
			var p struct{ Name string }
			if err := ssh.Unmarshal(r.Payload, &p); err != nil || p.Name != "sftp" || started {
				_ = r.Reply(false, nil)
				continue
			}
			started = true
			_ = r.Reply(true, nil)
			go func() {
				srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.Home))
				if err == nil {
					if err := srv.Serve(); err == nil || errors.Is(err, io.EOF) {
						sendStatus(ch, 0)
					}
				}
				close(done)
			}()
		default:
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}
}

func sendStatus(ch ssh.Channel, code int) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}
