package osutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// processStart reads the start time of pid from /proc/PID/stat (field 22: clock ticks after boot)
// and /proc/uptime (seconds since boot, the same clock), so no rounding of the boot time intrudes.
func processStart(pid int) (time.Time, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return time.Time{}, err
	}
	now := time.Now()
	uptime, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}, err
	}
	// The fields after the parenthesised command name (which may hold ')' and spaces) start at
	// field 3 (state); starttime is field 22.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	ticks, err := strconv.ParseUint(fields[22-3], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	upField, _, _ := strings.Cut(string(uptime), " ")
	up, err := strconv.ParseFloat(upField, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("malformed /proc/uptime: %w", err)
	}
	hz := clockTicks()
	sinceBoot := time.Duration(ticks/hz)*time.Second + time.Duration(ticks%hz)*time.Second/time.Duration(hz)
	return now.Add(-time.Duration(up*float64(time.Second)) + sinceBoot), nil
}

// clockTicks is the kernel's USER_HZ (sysconf(_SC_CLK_TCK)), read from the auxiliary vector the
// kernel hands every process (AT_CLKTCK). It is 100 on every Linux architecture Go supports; that is
// the fallback.
var clockTicks = sync.OnceValue(func() uint64 {
	const atClkTck = 17 // AT_CLKTCK in <elf.h>
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return uint64(kv[1])
			}
		}
	}
	return 100
})

// processArgs reads pid's argv from /proc/PID/cmdline. An empty cmdline (a kernel thread, or a
// process exiting) is an error: there is nothing to identify.
func processArgs(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil, errors.New("empty command line")
	}
	return strings.Split(string(b), "\x00"), nil
}
