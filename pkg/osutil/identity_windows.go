package osutil

import (
	"time"

	"golang.org/x/sys/windows"
)

// processStart reads pid's creation time with GetProcessTimes.
func processStart(pid int) (time.Time, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return time.Time{}, err
	}
	defer windows.CloseHandle(h)
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &creation, &exit, &kernel, &user); err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, creation.Nanoseconds()), nil
}

// processArgs is not implemented on Windows: another process's command line lives in its PEB, which
// takes reading its memory. The creation time alone identifies a process there; Windows reuses pids
// quickly, but never while a process with that pid runs, so a process created before its pid file
// was written is the file's writer.
func processArgs(pid int) ([]string, error) { return nil, errArgsUnsupported }
