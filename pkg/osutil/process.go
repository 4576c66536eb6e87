// Package osutil holds the small process helpers the store, the instance lifecycle and the drivers
// share: whether a pid is alive (a zombie is not), signalling and killing a pid, and the process
// attributes that start a child detached from limactl's terminal.
package osutil

import "errors"

// ErrNoInterrupt is wrapped by InterruptProcess where the OS has no way to interrupt another process
// (Windows); callers fall back to KillProcess.
var ErrNoInterrupt = errors.New("this OS cannot interrupt another process")
