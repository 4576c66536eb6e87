package limatmpl

import (
	"io"
	"os"

	yqcmd "github.com/mikefarah/yq/v4/cmd"
)

// RunYQ runs the yq command line (the one from github.com/mikefarah/yq, linked in) with args,
// for `limactl yq` and `limactl template yq`. Everything yq's own CLI accepts works: an
// expression followed by files ("-" or no file reads stdin), -i to edit in place, -o
// json|yaml|props|..., -r/--unwrapScalar, -e, -n, -P, --indent, -s ... as well as yq's
// subcommands (eval, eval-all, completion). Like yq, the env and load operators are available
// here (it is the user's own command line); system stays off unless
// --security-enable-system-operator is given.
//
// RunYQ changes process-wide state while it runs (os.Stdin, yq's settings), so calls are
// serialised, also with EvaluateExpression. stdin may be nil to keep os.Stdin. Errors are
// returned, not printed: the caller reports them (yq's own binary would print "Error: ...").
func RunYQ(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	yqMu.Lock()
	defer yqMu.Unlock()

	if stdin != nil {
		restore, err := swapStdin(stdin)
		if err != nil {
			return err
		}
		defer restore()
	}

	cmd := yqcmd.New()
	if _, _, err := cmd.Find(args); err != nil || len(args) == 0 {
		// Like the yq binary: anything that is not a subcommand is an `eval` expression.
		if len(args) == 0 || (args[0] != "__complete" && args[0] != "__completeNoDesc") {
			args = append([]string{"eval"}, args...)
		}
	}
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd.Execute()
}

// swapStdin points os.Stdin at r until restore is called. yq reads os.Stdin directly.
func swapStdin(r io.Reader) (restore func(), err error) {
	orig := os.Stdin
	if f, ok := r.(*os.File); ok {
		os.Stdin = f
		return func() { os.Stdin = orig }, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(pw, r)
		pw.Close()
	}()
	os.Stdin = pr
	return func() {
		os.Stdin = orig
		pr.Close()
		<-done
	}, nil
}
