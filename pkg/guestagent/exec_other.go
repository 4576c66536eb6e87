//go:build !linux

package guestagent

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

func execCommand(api.ExecRequest) (*exec.Cmd, func(), error) {
	return nil, nil, errors.New("exec: the guest agent runs commands only on Linux")
}

func setLimits(int, []api.ExecLimit, *int) {}

func memFile(string) (*os.File, error) {
	return nil, errors.New("exec: the guest agent runs commands only on Linux")
}

func signalCmd(*execCmd, string) {}

func signalName(sig syscall.Signal) string { return sig.String() }
