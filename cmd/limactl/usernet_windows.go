package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

// execUsernet runs lima-usernet (bin) as a child, with limactl's standard streams, and exits with
// its exit code (Windows has no exec). The child writes its own pid to the pid file, so a stop
// interrupts it, not this process; an interrupt this process gets reaches the child from the
// console too, and is ignored here.
func execUsernet(bin string, args []string) error {
	signal.Ignore(os.Interrupt)
	c := exec.Command(bin, args...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("cannot run %s: %w", bin, err)
	}
	return nil
}
