//go:build windows

package sshutil

import (
	"context"
	"os"
	"os/signal"
	"time"

	"golang.org/x/term"
)

// windowPollInterval is how often the console size is checked; Windows has no SIGWINCH.
const windowPollInterval = 250 * time.Millisecond

// watchWindowSize polls the size of fd and calls resize when it changes, until the returned stop.
func watchWindowSize(ctx context.Context, fd, w, h int, resize func(w, h int)) func() {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(windowPollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				nw, nh, err := term.GetSize(fd)
				if err == nil && (nw != w || nh != h) {
					w, h = nw, nh
					resize(w, h)
				}
			}
		}
	}()
	return cancel
}

// onTerminate calls f when the console is interrupted, until the returned stop.
func onTerminate(f func()) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			f()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
