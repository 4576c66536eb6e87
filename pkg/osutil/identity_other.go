//go:build !linux && !darwin && !windows

package osutil

import (
	"errors"
	"time"
)

var errNoProcessInfo = errors.New("process start times and command lines are not read on this OS")

// processStart is not implemented here: every identity is unknown, so no pid from a pid file is
// signalled.
func processStart(pid int) (time.Time, error) { return time.Time{}, errNoProcessInfo }

func processArgs(pid int) ([]string, error) { return nil, errNoProcessInfo }
