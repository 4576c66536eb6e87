package limayaml

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a config: a value Validate rejects, a value of the
// wrong type, or (with an empty Field) a syntax error of the whole file. Validate leaves File, Line
// and Column unset, since it sees only the merged config; Locate fills them from the YAML text.
// Unmarshal sets them itself.
type FieldError struct {
	// File is the file the value was found in, as the user should see it; "" when unknown.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Field is the path of the field, such as "mounts[0].location"; "" for the file as a whole.
	Field string
	// Msg says what is wrong and what to do.
	Msg string
	// Layer is "" when the value belongs to the document being loaded, or the base name of the
	// $LIMA_HOME/_config layer it came from (filenames.Default or filenames.Override).
	Layer string
}

// Error reads FILE:LINE:COL: field `PATH`: MSG (the field quoted as Lima quotes it), leaving out
// what is unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %#q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationErrors holds every problem found in one pass over a config, in the order found.
// Its text is one problem per line.
type ValidationErrors []*FieldError

func (es ValidationErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each FieldError.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// orNil returns es as an error, or a nil error (not a typed nil) when there is nothing to report.
func (es ValidationErrors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// FieldErrors collects every FieldError in err's tree (through %w wrapping and errors.Join), in
// order and each once. It returns nil when err holds none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	seen := map[*FieldError]bool{}
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok { //nolint:errorlint // walking the tree by hand
			if !seen[fe] {
				seen[fe] = true
				out = append(out, fe)
			}
			return
		}
		switch u := err.(type) { //nolint:errorlint // walking the tree by hand
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// IsFieldError reports whether err holds at least one FieldError.
func IsFieldError(err error) bool {
	var fe *FieldError
	return errors.As(err, &fe)
}
