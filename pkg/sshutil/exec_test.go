package sshutil

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestExecuteScript(t *testing.T) {
	_, opts := fakeGuest(t)
	client := dial(t, opts)
	ctx := context.Background()

	out, _, err := ExecuteScript(ctx, client, "#!/bin/sh -eu\necho \"$0 ran\"\n", "test")
	if err != nil || out != "/bin/sh ran\n" {
		t.Errorf("ExecuteScript = %q, %v", out, err)
	}
	_, stderr, err := ExecuteScript(ctx, client, "#!/bin/sh\necho oops >&2\nexit 4\n", "failing")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 4 || stderr != "oops\n" || !strings.Contains(err.Error(), `"failing"`) || !strings.Contains(err.Error(), "oops") {
		t.Errorf("failing script: stderr %q, err %v", stderr, err)
	}
	if _, _, err := ExecuteScript(ctx, client, "echo no shebang", "bad"); err == nil {
		t.Error("a script without #! ran")
	}
	if out, _, err := Output(ctx, client, "cat", strings.NewReader("piped")); err != nil || string(out) != "piped" {
		t.Errorf("Output(cat) = %q, %v", out, err)
	}
}

// TestOutputBounded: a guest command that prints more than MaxOutput on both streams and fails. Output
// keeps MaxOutput bytes of each, the command is not blocked, and the error quotes a bounded part of
// stderr. On the previous code both streams were kept whole, and quoted whole.
func TestOutputBounded(t *testing.T) {
	_, opts := fakeGuest(t)
	client := dial(t, opts)
	big := "head -c 3000000 /dev/zero | tr '\\0' x; head -c 3000000 /dev/zero | tr '\\0' y >&2; exit 3"
	out, stderr, err := Output(context.Background(), client, big, nil)
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if len(out) != MaxOutput || len(stderr) != MaxOutput {
		t.Errorf("kept %d bytes of stdout and %d of stderr, want %d of each", len(out), len(stderr), MaxOutput)
	}
	if len(err.Error()) > 3*maxQuotedStderr {
		t.Errorf("the error is %d bytes long", len(err.Error()))
	}
}
