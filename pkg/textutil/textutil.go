// Package textutil makes text that came from the guest safe to show: on a terminal, in a log line,
// in an event. The guest is untrusted (see docs/security.md): its console, its command output and
// the names in its file system may hold escape sequences that would drive the user's terminal, and
// may be of any length.
package textutil

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Printable drops from s every control character (C0 but tab, DEL, C1: ESC, CR, BEL, ...) and every
// byte that is not valid UTF-8, so that s cannot move the cursor, retitle a window, ring the bell or
// rewrite what is already on the screen. Tabs stay. It returns s itself when there is nothing to drop.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if !keep(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if keep(r) && (r != utf8.RuneError || n != 1) {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// keep reports whether r may reach a terminal. utf8.RuneError itself (U+FFFD written out in the
// input) is harmless; the invalid bytes that decode to it are dropped by Printable.
func keep(r rune) bool {
	switch {
	case r == '\t':
		return true
	case r < 0x20, r == 0x7f:
		return false
	case r >= 0x80 && r <= 0x9f:
		return false
	case r == utf8.RuneError:
		return false // conservative: an invalid byte, or a literal U+FFFD; neither is worth showing
	}
	return true
}

// Clip returns s cut to at most max bytes, on a rune boundary, with "..." appended when it was cut.
// max must leave room for the ellipsis (at least 3).
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Line returns one line of guest text made safe for a terminal or a log: Printable, then clipped to
// max bytes.
func Line(s string, max int) string {
	return Clip(Printable(s), max)
}

// ReadLines calls fn with each line of r, without its line ending ("\n" or "\r\n"), cut to max
// bytes as Clip does; it never holds more than max bytes of a line, however long the line is. It
// stops when fn returns false, and returns r's error (nil at io.EOF). A last line without a newline
// is passed on too.
func ReadLines(r io.Reader, max int, fn func(line string) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	long := false
	for {
		chunk, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		end := err == nil || (errors.Is(err, io.EOF) && (len(chunk) > 0 || len(line) > 0 || long))
		if room := max + 1 - len(line); room > 0 { // one byte over max, so Clip knows it was cut
			line = append(line, chunk[:min(len(chunk), room)]...)
		}
		long = long || len(line) > max
		if full {
			continue
		}
		if end {
			s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
			if !fn(Clip(s, max)) {
				return nil
			}
			line, long = line[:0], false
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
