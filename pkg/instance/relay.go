package instance

import (
	"encoding/json"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/textutil"
)

// relayLogLine re-logs one logrus JSON line of the host agent (ha.stderr.log) when it is a warning
// or worse, prefixed with [hostagent] as Lima does.
func relayLogLine(line string) {
	var entry struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(line)), &entry) != nil || entry.Msg == "" {
		return
	}
	msg := "[hostagent] " + entry.Msg
	if entry.Error != "" {
		msg += ": " + entry.Error
	}
	msg = textutil.Printable(msg) // the host agent's messages may quote the guest
	switch entry.Level {
	case "warning":
		logrus.Warn(msg)
	case "error", "fatal", "panic":
		logrus.Error(msg)
	}
}
