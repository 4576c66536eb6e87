package downloader

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestProgressBar(t *testing.T) {
	content := testBytes(2<<20, 60)
	srv := newTestServer(t, map[string][]byte{"/img": content})
	for _, tc := range []struct {
		name string
		tty  bool
		json bool
		want bool
	}{{"tty", true, false, true}, {"not a tty", false, false, false}, {"json logs", true, true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.json {
				old := logrus.StandardLogger().Formatter
				logrus.SetFormatter(&logrus.JSONFormatter{})
				t.Cleanup(func() { logrus.SetFormatter(old) })
			}
			var out bytes.Buffer
			dst := filepath.Join(t.TempDir(), "image")
			_, err := Download(context.Background(), dst, srv.URL+"/img", WithCacheDir(t.TempDir()),
				WithProgress(&out, tc.tty), WithDescription("the image"))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want {
				if out.Len() != 0 {
					t.Errorf("unexpected progress output %q", out.String())
				}
				return
			}
			s := out.String()
			last := s[strings.LastIndex(s, "\r")+1:]
			if !strings.HasPrefix(last, "the image: 2MiB / 2MiB (100%)") || !strings.Contains(last, "/s  in ") || !strings.HasSuffix(last, "\n") {
				t.Errorf("final progress line %q", last)
			}
		})
	}
}
