package textutil

import (
	"slices"
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tstays", "tab\tstays"},
		{"\x1b[31mred\x1b[0m", "[31mred[0m"},       // ESC dropped: the rest is inert text
		{"\x1b]0;pwned\x07title", "]0;pwnedtitle"}, // OSC window title + BEL
		{"progress 10%\rprogress 20%", "progress 10%progress 20%"},
		{"line\r\n", "line"},
		{"bell\a backspace\b del\x7f", "bell backspace del"},
		{"c1 \u009b31m csi", "c1 31m csi"}, // U+009B: the one-byte CSI of 8-bit terminals
		{"bad \xff\xfe utf-8", "bad  utf-8"},
		{"nul\x00byte", "nulbyte"},
		{"ünïcödé ✓ 日本", "ünïcödé ✓ 日本"},
		{"", ""},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer line", 10, "a longe..."},
		{"ééééé", 8, "éé..."}, // never cuts a rune in two
	} {
		if got := Clip(tc.in, tc.max); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	if got := Line("\x1b[2J"+strings.Repeat("x", 100), 20); got != "[2J"+strings.Repeat("x", 14)+"..." {
		t.Errorf("Line = %q", got)
	}
}

func TestReadLines(t *testing.T) {
	in := "one\r\ntwo\n\n" + strings.Repeat("x", 200<<10) + "\nlast"
	var got []string
	err := ReadLines(strings.NewReader(in), 10, func(l string) bool { got = append(got, l); return true })
	if want := []string{"one", "two", "", "xxxxxxx...", "last"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ReadLines = %q, %v; want %q", got, err, want)
	}
	got = nil
	_ = ReadLines(strings.NewReader("a\nb\nc\n"), 10, func(l string) bool { got = append(got, l); return len(got) < 2 })
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("stopping early: %q", got)
	}
}
