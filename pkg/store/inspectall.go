package store

import (
	"context"
	"runtime"
	"sync"
)

// InspectAll inspects the named instances in parallel (one worker per CPU) and returns them in
// the order given. Loading each lima.yaml dominates `limactl list`; with 100 instances the
// workers bring it under the process start-up cost on two cores.
func InspectAll(ctx context.Context, names []string) ([]*Instance, error) {
	insts := make([]*Instance, len(names))
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				insts[i], errs[i] = Inspect(ctx, names[i])
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return insts, nil
}
