package downloader

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestFanout(t *testing.T) {
	content := testBytes(5<<20+3, 50)
	var a, b bytes.Buffer
	h := sha256.New()
	f := newFanout(&a, &b, h)
	if _, err := io.CopyBuffer(f, bytes.NewReader(content), make([]byte, 70000)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	mustEqualBytes(t, "a", a.Bytes(), content)
	mustEqualBytes(t, "b", b.Bytes(), content)
	if want := sha256.Sum256(content); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("hash differs")
	}

	f = newFanout(&failingWriter{after: 3 << 20}, io.Discard)
	_, err := io.Copy(f, bytes.NewReader(content))
	if cerr := f.Close(); err == nil && cerr == nil {
		t.Fatal("a failing writer went unnoticed")
	}
}
