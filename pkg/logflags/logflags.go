// Package logflags applies the logging flags limactl and its helper binaries share (--debug,
// --log-level, --log-format) to logrus, with the same words for bad values.
package logflags

import (
	"fmt"

	"github.com/sirupsen/logrus"
)

// Apply sets logrus's level (debug wins over level; "" keeps the current one) and formatter
// ("text" or "json").
func Apply(debug bool, level, format string) error {
	if debug {
		level = "debug"
	}
	if level != "" {
		lvl, err := logrus.ParseLevel(level)
		if err != nil {
			return fmt.Errorf("invalid --log-level %q: %w", level, err)
		}
		logrus.SetLevel(lvl)
	}
	switch format {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{})
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return fmt.Errorf("invalid --log-format %q: want text or json", format)
	}
	return nil
}
