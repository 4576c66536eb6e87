package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

func TestRunErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"daemon"}, "needs --virtio-port or --vsock-port"},
		{[]string{"daemon", "--bogus"}, "flag provided but not defined"},
		{[]string{"daemon", "--virtio-port", "x", "extra"}, "takes no arguments"},
		{[]string{"udp-relay"}, "takes one argument"},
	} {
		err := run(c.args, strings.NewReader(""), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version"}, nil, &out); err != nil || !strings.HasPrefix(out.String(), "lima-guestagent version ") {
		t.Errorf("version: %q, %v", out.String(), err)
	}
}

// TestStdio runs the protocol on stdin/stdout against this machine's sockets: the first Info
// already holds the scan's result.
func TestStdio(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run([]string{"stdio"}, inR, outW) }()
	if err := api.NewEncoder(inW).Encode(api.Message{Type: api.TypeGetInfo}); err != nil {
		t.Fatal(err)
	}
	dec := api.NewDecoder(outR)
	for i := 0; i < 2; i++ { // the Info sent on connecting, and the answer
		m, err := dec.Decode()
		if err != nil || m.Type != api.TypeInfo {
			t.Fatalf("message %d = %+v, %v; want an info", i, m, err)
		}
	}
	_ = inW.Close()
	if err := <-done; err != nil {
		t.Errorf("stdio at the end of its input = %v", err)
	}
}
