package iostreams

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotInteractive is returned by prompts when CanPrompt is false.
var ErrNotInteractive = errors.New("cannot prompt: not running interactively (--tty=false)")

// Select shows a numbered menu of options and returns the index the user chose. An empty answer
// picks def. It asks again on an answer that is not a listed number, and fails at end of input.
func (s *IOStreams) Select(question string, options []string, def int) (int, error) {
	if !s.CanPrompt() {
		return 0, ErrNotInteractive
	}
	r := s.reader()
	for {
		fmt.Fprintf(s.ErrOut, "? %s\n", question)
		for i, o := range options {
			marker := " "
			if i == def {
				marker = ">"
			}
			fmt.Fprintf(s.ErrOut, "%s %d) %s\n", marker, i+1, o)
		}
		fmt.Fprintf(s.ErrOut, "Choose [1-%d, default %d]: ", len(options), def+1)
		line, err := r.ReadString('\n')
		answer := strings.TrimSpace(line)
		if answer == "" {
			if err != nil {
				return 0, fmt.Errorf("no answer: %w", err)
			}
			return def, nil
		}
		if n, convErr := strconv.Atoi(answer); convErr == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		fmt.Fprintf(s.ErrOut, "%q is not one of the choices\n", answer)
		if err != nil {
			return 0, fmt.Errorf("no valid answer: %w", err)
		}
	}
}

// Confirm asks a yes/no question; an empty answer picks def.
func (s *IOStreams) Confirm(question string, def bool) (bool, error) {
	if !s.CanPrompt() {
		return false, ErrNotInteractive
	}
	hint := "y/N"
	if def {
		hint = "Y/n"
	}
	fmt.Fprintf(s.ErrOut, "? %s [%s] ", question, hint)
	line, err := s.reader().ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "":
		if err != nil {
			return false, fmt.Errorf("no answer: %w", err)
		}
		return def, nil
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// reader keeps one buffered reader over In, so answers typed ahead are not lost between prompts.
func (s *IOStreams) reader() *bufio.Reader {
	if br, ok := s.In.(*bufio.Reader); ok {
		return br
	}
	br := bufio.NewReader(s.In)
	s.In = br
	return br
}
