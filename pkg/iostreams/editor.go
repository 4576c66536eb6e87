package iostreams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/limactl/limactl/pkg/envknob"
)

// Editor returns the editor command line: $VISUAL, else $EDITOR, else the first of vi, vim and
// nano found on $PATH (notepad on Windows).
func Editor() string {
	if v := envknob.Visual.Get(); v != "" {
		return v
	}
	if v := envknob.Editor.Get(); v != "" {
		return v
	}
	if runtime.GOOS == "windows" {
		return "notepad"
	}
	for _, e := range []string{"vi", "vim", "nano"} {
		if p, err := exec.LookPath(e); err == nil {
			return p
		}
	}
	return "vi"
}

// Edit lets the user edit content in their editor and returns the result. header, when not empty,
// is put above the content as comment lines. The file is named after fileName (for syntax
// highlighting) in a private temporary directory.
func (s *IOStreams) Edit(ctx context.Context, content []byte, fileName, header string) ([]byte, error) {
	if !s.CanPrompt() {
		return nil, fmt.Errorf("cannot open an editor: %w", ErrNotInteractive)
	}
	dir, err := os.MkdirTemp("", "limactl-edit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, filepath.Base(fileName))
	var b bytes.Buffer
	if header != "" {
		for _, line := range bytes.Split(bytes.TrimRight([]byte(header), "\n"), []byte("\n")) {
			b.WriteString("# ")
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	b.Write(content)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return nil, err
	}
	editor := Editor()
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" {
		cmd = exec.CommandContext(ctx, editor, path)
	} else {
		// Through sh, so that EDITOR="code --wait" works.
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", editor+` "$1"`, "editor", path)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.In, s.Out, s.ErrOut
	if f, ok := s.In.(*os.File); ok {
		cmd.Stdin = f
	} else if s.stdinTTY {
		cmd.Stdin = os.Stdin
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("the editor %q exited with status %d; nothing was changed", editor, ee.ExitCode())
		}
		return nil, fmt.Errorf("cannot run the editor %q (set $VISUAL or $EDITOR): %w", editor, err)
	}
	edited, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if header != "" {
		edited = bytes.TrimPrefix(edited, b.Bytes()[:len(b.Bytes())-len(content)])
	}
	return edited, nil
}
