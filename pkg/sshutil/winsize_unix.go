//go:build !windows

package sshutil

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// watchWindowSize calls resize on each SIGWINCH with the new size of fd, until the returned stop.
func watchWindowSize(ctx context.Context, fd, w, h int, resize func(w, h int)) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				nw, nh, err := term.GetSize(fd)
				if err == nil && (nw != w || nh != h) {
					w, h = nw, nh
					resize(w, h)
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		cancel()
	}
}

// onTerminate calls f when SIGTERM or SIGHUP arrives, until the returned stop.
func onTerminate(f func()) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGHUP)
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
