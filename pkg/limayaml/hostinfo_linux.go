package limayaml

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

func detectPlatform(h *HostInfo) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				h.MemoryBytes = kb * 1024
			}
			return
		}
	}
}
