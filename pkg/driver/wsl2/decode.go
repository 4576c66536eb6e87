package wsl2

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding names how DecodeOutput read a buffer.
type Encoding string

// Encodings DecodeOutput recognises.
const (
	EncodingUTF8    Encoding = "UTF-8"
	EncodingUTF16LE Encoding = "UTF-16LE"
	EncodingUTF16BE Encoding = "UTF-16BE"
)

// DetectEncoding tells how b is encoded: a BOM decides; without one, UTF-16LE is recognised by its
// NUL high bytes (wsl.exe's own messages are mostly ASCII, so at least half the odd bytes are NUL
// while the even ones are not), and everything else is UTF-8.
func DetectEncoding(b []byte) Encoding {
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		return EncodingUTF8
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return EncodingUTF16LE
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return EncodingUTF16BE
	case len(b) < 2:
		return EncodingUTF8
	}
	var oddNUL, evenNUL, pairs int
	for i := 0; i+1 < len(b); i += 2 {
		pairs++
		if b[i] == 0 {
			evenNUL++
		}
		if b[i+1] == 0 {
			oddNUL++
		}
	}
	if oddNUL*2 >= pairs && evenNUL*4 < pairs {
		return EncodingUTF16LE
	}
	return EncodingUTF8
}

// DecodeOutput turns wsl.exe output into text, whichever encoding it came in (DetectEncoding): a BOM
// is dropped, an odd trailing byte of UTF-16 is dropped, invalid UTF-8 becomes U+FFFD. Line ends are
// normalised: "\r\n" becomes "\n", and the NULs and stray "\r" some wsl.exe versions leave at line
// ends are removed.
func DecodeOutput(b []byte) string {
	var s string
	switch DetectEncoding(b) {
	case EncodingUTF16LE, EncodingUTF16BE:
		s = decodeUTF16(b)
	default:
		b = trimPrefix(b, "\xEF\xBB\xBF")
		s = string(b)
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
	}
	return normaliseLines(s)
}

func trimPrefix(b []byte, p string) []byte {
	if len(b) >= len(p) && string(b[:len(p)]) == p {
		return b[len(p):]
	}
	return b
}

func decodeUTF16(b []byte) string {
	big := len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF
	if len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || big) {
		b = b[2:]
	}
	u := make([]uint16, len(b)/2) // an odd trailing byte is dropped
	for i := range u {
		if big {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return string(utf16.Decode(u))
}

func normaliseLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.ContainsAny(s, "\r\x00") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.NewReplacer("\r", "", "\x00", "").Replace(l)
	}
	return strings.Join(lines, "\n")
}

// EncodeUTF16LE encodes s as wsl.exe writes its messages: UTF-16LE without a BOM, "\n" as "\r\n".
// The fake wsl.exe and the tests use it.
func EncodeUTF16LE(s string) []byte {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2*len(u))
	for i, c := range u {
		out[2*i], out[2*i+1] = byte(c), byte(c>>8)
	}
	return out
}
