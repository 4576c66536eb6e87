// Package iostreams owns everything about the terminal: the three standard streams, whether they
// are terminals, whether output may be coloured, whether the user may be prompted (--tty),
// prompts, and launching an editor.
// Commands never call isatty themselves; tests build an IOStreams over buffers with Test.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"

	"github.com/limactl/limactl/pkg/envknob"
)

// IOStreams is the terminal a command talks to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	colorOut                       bool
	interactive                    *bool
	termWidth                      int
}

// System returns the process's standard streams with their terminal state detected.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		colorOut:  isTerminal(os.Stdout) || envknob.LimaOutputIsTTY.Get() != "",
	}
}

// Test returns streams over buffers, none of them a terminal.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// IsStdinTTY, IsStdoutTTY and IsStderrTTY report whether the stream is a terminal.
func (s *IOStreams) IsStdinTTY() bool  { return s.stdinTTY }
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY, SetStdoutTTY and SetStderrTTY override detection (for tests).
func (s *IOStreams) SetStdinTTY(v bool)  { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// ColorEnabled reports whether output to stdout is for a person: colours, and JSON indented
// rather than one object per line. It is true when stdout is a terminal, and in tests that set
// _LIMA_OUTPUT_IS_TTY (Lima's switch of the same name); nothing else reads that variable.
func (s *IOStreams) ColorEnabled() bool { return s.colorOut }

// SetColorEnabled overrides ColorEnabled (for tests).
func (s *IOStreams) SetColorEnabled(v bool) { s.colorOut = v }

// SetInteractive records the --tty flag: whether prompts and editors may be used.
func (s *IOStreams) SetInteractive(v bool) { s.interactive = &v }

// CanPrompt reports whether the user may be asked questions or handed an editor: --tty when
// given, else whether stdout is a terminal.
func (s *IOStreams) CanPrompt() bool {
	if s.interactive != nil {
		return *s.interactive
	}
	return s.stdoutTTY
}

// TerminalWidth returns the width of the terminal stdout goes to, or 0 when it is not one.
func (s *IOStreams) TerminalWidth() int {
	if s.termWidth != 0 {
		return s.termWidth
	}
	if !s.stdoutTTY {
		return 0
	}
	if f, ok := s.Out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			return w
		}
	}
	return 0
}

// SetTerminalWidth overrides TerminalWidth (for tests).
func (s *IOStreams) SetTerminalWidth(w int) { s.termWidth = w }
