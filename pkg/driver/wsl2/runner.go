package wsl2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
)

// Result is what a finished wsl.exe invocation produced. Stdout and Stderr are raw bytes: decode
// wsl.exe's own messages with DecodeOutput.
type Result struct {
	Stdout, Stderr []byte
	Exit           ExitCode
}

// Runner runs wsl.exe invocations. The driver makes every call through it, so tests substitute a
// fake (wslfake.Runner) for the real ExecRunner.
type Runner interface {
	// Run runs inv to completion. The error is only for failing to run it at all (wsl.exe missing,
	// ctx done); a non-zero exit is reported in Result.Exit with a nil error.
	Run(ctx context.Context, inv Invocation) (Result, error)
	// Start starts inv in the background and returns at once. Its standard output and error go to
	// out when out is not nil (and are then not in the Result), otherwise they are captured. The
	// process is not tied to any context: it runs until it exits or is killed.
	Start(inv Invocation, out io.Writer) (Process, error)
}

// Process is an invocation started with Runner.Start.
type Process interface {
	// Wait waits for the process to end. It may be called once.
	Wait() (Result, error)
	// Kill ends the process (not the distro) at once.
	Kill() error
}

// ExecRunner is the real Runner: it runs Exe (wsl.exe, looked up on PATH) with os/exec. It compiles
// on every OS; on Windows the child gets no console window (exec_windows.go).
type ExecRunner struct {
	// Exe overrides the program to run; empty means Exe ("wsl.exe").
	Exe string
}

func (r ExecRunner) command(ctx context.Context, inv Invocation) *exec.Cmd {
	exe := r.Exe
	if exe == "" {
		exe = Exe
	}
	cmd := exec.CommandContext(ctx, exe, inv.Args...)
	cmd.Env = append(os.Environ(), inv.Env...)
	if inv.Stdin != nil {
		cmd.Stdin = bytes.NewReader(inv.Stdin)
	}
	hideWindow(cmd)
	return cmd
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, inv Invocation) (Result, error) {
	cmd := r.command(ctx, inv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	return exitResult(ctx, cmd, res, err)
}

func exitResult(ctx context.Context, cmd *exec.Cmd, res Result, err error) (Result, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s %v: %w", cmd.Path, cmd.Args[1:], ctx.Err())
	case errors.As(err, &ee):
		// On Windows ExitCode is the 32-bit status as a non-negative int (4294967295 for wsl.exe's
		// -1); elsewhere a signal gives -1, which becomes the same 0xFFFFFFFF.
		res.Exit = ExitCode(uint32(ee.ExitCode()))
		return res, nil
	case errors.Is(err, exec.ErrNotFound):
		return res, fmt.Errorf("%s was not found: install WSL (`wsl --install --no-distribution` in an administrator PowerShell, then reboot): %w", Exe, err)
	}
	return res, fmt.Errorf("run %s: %w", cmd.Path, err)
}

// Start implements Runner.
func (r ExecRunner) Start(inv Invocation, out io.Writer) (Process, error) {
	// A started process lives until Wait; context.Background never kills it.
	cmd := r.command(context.Background(), inv)
	p := &execProcess{cmd: cmd}
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	} else {
		cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	}
	if err := cmd.Start(); err != nil {
		_, err = exitResult(context.Background(), cmd, Result{}, err)
		return nil, err
	}
	return p, nil
}

type execProcess struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
}

func (p *execProcess) Wait() (Result, error) {
	err := p.cmd.Wait()
	return exitResult(context.Background(), p.cmd, Result{Stdout: p.stdout.Bytes(), Stderr: p.stderr.Bytes()}, err)
}

func (p *execProcess) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for the copying goroutines of os/exec and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}
