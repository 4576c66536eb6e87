//go:build !windows

package sshtest

import (
	"os"
	"syscall"

	"golang.org/x/crypto/ssh"
)

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGKILL: "KILL",
	syscall.SIGTERM: "TERM", syscall.SIGALRM: "ALRM", syscall.SIGPIPE: "PIPE", syscall.SIGUSR1: "USR1",
	syscall.SIGUSR2: "USR2", syscall.SIGSEGV: "SEGV", syscall.SIGABRT: "ABRT",
}

func signalByName(name string) (os.Signal, bool) {
	for sig, n := range signalNames {
		if n == name {
			return sig, true
		}
	}
	return nil, false
}

// sendExit reports how the command ended: exit-signal when a signal killed it, else exit-status.
func sendExit(ch ssh.Channel, ps *os.ProcessState, _ error) {
	if ps == nil {
		sendStatus(ch, 255)
		return
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name, ok := signalNames[ws.Signal()]
		if !ok {
			name = "KILL"
		}
		_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Msg, Lang  string
		}{name, ws.CoreDump(), "", ""}))
		return
	}
	sendStatus(ch, ps.ExitCode())
}
