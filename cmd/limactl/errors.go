package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/limayaml"
)

// reportConfigErrors is the one place commands turn config problems into output. For each
// limayaml.FieldError in err it finds where the field was written (in data, the text of file as
// the user has it; or in the _config layer it came from) and, when there are several, logs each as
// its own error line `FILE:LINE:COL: field "PATH": what to do`. It returns the error to end the
// command with: a single problem as its own one-line message, several as a one-line count, in
// both cases kept inside whatever context err carried (errors.Is/As still see the original).
// When err says the config was saved as lima.REJECTED.yaml, positions refer to that file instead.
// An err without FieldErrors (or nil) is returned unchanged. data may be nil.
func reportConfigErrors(file string, data []byte, err error) error {
	fes := limayaml.FieldErrors(err)
	if len(fes) == 0 {
		return err
	}
	var rejected *instance.RejectedError
	if errors.As(err, &rejected) {
		file, data = rejected.Path, rejected.Data
	}
	before := err.Error()
	var oldTexts []string
	for _, fe := range fes {
		oldTexts = append(oldTexts, fe.Error())
	}
	limayaml.Locate(fes, data, file)
	sortByPosition(fes, file)
	var summary string
	if len(fes) == 1 {
		summary = fes[0].Error()
	} else {
		for _, fe := range fes {
			logrus.Error(fe.Error())
		}
		summary = countSummary(file, data != nil, strings.Contains(before, fmt.Sprintf("%#q", file)), len(fes))
	}
	// The problems were joined into err's text as one block (one per line); put the summary in
	// its place so the context around it survives.
	msg := summary
	if block := strings.Join(oldTexts, "\n"); strings.Contains(before, block) {
		msg = strings.Replace(before, block, summary, 1)
	}
	return &reportedError{msg: oneLine(msg), err: err}
}

// countSummary ends a list of n problems. When the text checked is file's own (onDisk), the user
// can check it again with limactl validate; otherwise (edit flags) only by running the command again.
// named says the message around the summary already names the file (as Lima's "failed to validate
// YAML file `f.yaml`: ..." does), so the summary does not repeat it.
func countSummary(file string, onDisk, named bool, n int) string {
	prefix := file + ": "
	if named {
		prefix = ""
	}
	switch {
	case file == "":
		return fmt.Sprintf("%d errors in the configuration; fix them and run the command again", n)
	case !onDisk:
		return fmt.Sprintf("%s%d errors; fix them and run the command again", prefix, n)
	}
	return fmt.Sprintf("%s%d errors; fix them and run `limactl validate %s` again", prefix, n, file)
}

// sortByPosition orders problems as a reader meets them: the user's file first, then the others
// by name, each by line and column. Problems without a line keep their place after those with one.
func sortByPosition(fes []*limayaml.FieldError, file string) {
	rank := func(fe *limayaml.FieldError) int {
		if fe.File == file {
			return 0
		}
		return 1
	}
	sort.SliceStable(fes, func(i, j int) bool {
		a, b := fes[i], fes[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// reportedError is an error whose details were already logged; its text is one line.
type reportedError struct {
	msg string
	err error
}

func (e *reportedError) Error() string { return e.msg }
func (e *reportedError) Unwrap() error { return e.err }

// oneLine makes sure a message ends up as one logrus line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// fatal logs the error a command ended with and exits 1. Config problems go through
// reportConfigErrors; any other message of several lines is logged a line at a time, the last as
// the fatal one, so no message reaches the terminal as one line full of \n escapes.
func fatal(err error) {
	lines := finalLines(err)
	for _, l := range lines[:len(lines)-1] {
		logrus.Error(l)
	}
	logrus.Fatal(lines[len(lines)-1])
}

// finalLines is the text of the error a command ended with, one logrus message per line.
func finalLines(err error) []string {
	var reported *reportedError
	if !errors.As(err, &reported) {
		err = reportConfigErrors("", nil, err)
	}
	return strings.Split(strings.TrimRight(err.Error(), "\n"), "\n")
}
