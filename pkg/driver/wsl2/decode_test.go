package wsl2

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func utf16le(s string, bom bool) []byte {
	b := EncodeUTF16LE(s)
	if bom {
		return append([]byte{0xFF, 0xFE}, b...)
	}
	return b
}

func TestDecodeOutput(t *testing.T) {
	const list = "  NAME      STATE           VERSION\n* Ubuntu    Running         2\n"
	const german = "  NAME      STATUS           VERSION\n* Ubuntu    Wird ausgeführt  2\n"
	const chinese = "系统找不到指定的文件。\nError code: Wsl/Service/CreateInstance/ERROR_FILE_NOT_FOUND\n"
	for _, tc := range []struct {
		name string
		in   []byte
		enc  Encoding
		want string
	}{
		{"empty", nil, EncodingUTF8, ""},
		{"utf8", []byte("a\r\nb\n"), EncodingUTF8, "a\nb\n"},
		{"utf8 bom", append([]byte("\xEF\xBB\xBF"), list...), EncodingUTF8, list},
		{"utf8 non-ascii", []byte(german), EncodingUTF8, german},
		{"utf8 invalid", []byte("a\xff\n"), EncodingUTF8, "a\uFFFD\n"},
		{"utf16le", utf16le(list, false), EncodingUTF16LE, list},
		{"utf16le bom", utf16le(list, true), EncodingUTF16LE, list},
		{"utf16le non-ascii", utf16le(german, false), EncodingUTF16LE, german},
		{"utf16le chinese with bom", utf16le(chinese, true), EncodingUTF16LE, chinese},
		{"utf16le odd trailing byte", append(utf16le("ok\n", false), 'x'), EncodingUTF16LE, "ok\n"},
		{"utf16le single char", utf16le("x", false), EncodingUTF16LE, "x"},
		{"utf16be bom", []byte{0xFE, 0xFF, 0, 'o', 0, 'k'}, EncodingUTF16BE, "ok"},
		{"stray cr and nul at line ends", []byte("Ubuntu\r\r\n\x00lima\x00\n"), EncodingUTF8, "Ubuntu\nlima\n"},
		{"utf16 with nul padding", append(utf16le("Ubuntu\n", false), 0, 0), EncodingUTF16LE, "Ubuntu\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DetectEncoding(tc.in); got != tc.enc {
				t.Errorf("DetectEncoding = %s, want %s", got, tc.enc)
			}
			if diff := cmp.Diff(tc.want, DecodeOutput(tc.in)); diff != "" {
				t.Errorf("DecodeOutput (-want +got):\n%s", diff)
			}
		})
	}
}
