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
