package wslfake

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/limactl/limactl/pkg/driver/wsl2"
)

// Runner runs invocations against Host in-process; it implements wsl2.Runner.
type Runner struct {
	Host *Host
}

var _ wsl2.Runner = Runner{}

// Run implements wsl2.Runner.
func (r Runner) Run(ctx context.Context, inv wsl2.Invocation) (wsl2.Result, error) {
	if err := ctx.Err(); err != nil {
		return wsl2.Result{}, err
	}
	var stdout, stderr bytes.Buffer
	code := r.Host.Exec(ctx, inv.Args, inv.Env, bytes.NewReader(inv.Stdin), &stdout, &stderr)
	return wsl2.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: code}, nil
}

// Start implements wsl2.Runner: the invocation runs in a goroutine until it returns or Kill.
func (r Runner) Start(inv wsl2.Invocation, out io.Writer) (wsl2.Process, error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var stdout, stderr bytes.Buffer
		o, e := io.Writer(&stdout), io.Writer(&stderr)
		if out != nil {
			o, e = out, out
		}
		code := r.Host.Exec(ctx, inv.Args, inv.Env, bytes.NewReader(inv.Stdin), o, e)
		p.mu.Lock()
		p.res = wsl2.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: code}
		p.mu.Unlock()
	}()
	return p, nil
}

type process struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	res    wsl2.Result
}

func (p *process) Wait() (wsl2.Result, error) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res, nil
}

func (p *process) Kill() error {
	p.cancel()
	return nil
}
