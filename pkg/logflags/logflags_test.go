package logflags

import (
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestApply(t *testing.T) {
	defer logrus.SetLevel(logrus.GetLevel())
	defer logrus.SetFormatter(logrus.StandardLogger().Formatter)
	if err := Apply(false, "warn", "json"); err != nil || logrus.GetLevel() != logrus.WarnLevel {
		t.Errorf("warn/json: %v, level %v", err, logrus.GetLevel())
	}
	if _, ok := logrus.StandardLogger().Formatter.(*logrus.JSONFormatter); !ok {
		t.Errorf("formatter %T, want JSON", logrus.StandardLogger().Formatter)
	}
	if err := Apply(true, "error", "text"); err != nil || logrus.GetLevel() != logrus.DebugLevel {
		t.Errorf("--debug should win over --log-level: %v, level %v", err, logrus.GetLevel())
	}
	if err := Apply(false, "loud", "text"); err == nil || !strings.Contains(err.Error(), `invalid --log-level "loud"`) {
		t.Errorf("bad level: %v", err)
	}
	if err := Apply(false, "", "xml"); err == nil || !strings.Contains(err.Error(), `invalid --log-format "xml"`) {
		t.Errorf("bad format: %v", err)
	}
}
