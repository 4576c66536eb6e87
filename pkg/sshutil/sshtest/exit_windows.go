//go:build windows

package sshtest

import (
	"os"

	"golang.org/x/crypto/ssh"
)

func signalByName(name string) (os.Signal, bool) {
	if name == "KILL" || name == "TERM" || name == "INT" {
		return os.Kill, true
	}
	return nil, false
}

func sendExit(ch ssh.Channel, ps *os.ProcessState, _ error) {
	if ps == nil {
		sendStatus(ch, 255)
		return
	}
	sendStatus(ch, ps.ExitCode())
}
