//go:build !linux

package guestagent

import (
	"errors"
	"time"
)

func touch(string, time.Time) error { return errors.New("touching files for mountInotify needs Linux") }
