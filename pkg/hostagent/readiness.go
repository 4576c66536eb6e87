package hostagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/limactl/limactl/pkg/hostagent/events"
)

// A Step is one thing start-up waits for, in order: the guest's SSH server answering, the user's
// session being ready, the boot scripts having finished, each readiness probe passing.
type Step struct {
	// ID is short and stable ("ssh", "user-session", "boot-scripts", "probe-1"); it appears in events.
	ID string
	// Description is what `limactl start` prints while the step is pending.
	Description string
	// Check reports whether the step is done. A non-nil error is remembered as the reason the step is
	// not done yet (shown when it stalls); it does not end the wait.
	Check func(ctx context.Context) (bool, error)
	// Wake, when set, is signalled whenever something happened that may have completed the step (a
	// line on the guest's console, an agent message), so Check runs at once instead of at the next
	// backoff tick.
	Wake <-chan struct{}
	// Hint tells the user what to look at when the step stalls.
	Hint string
	// Optional steps do not hold up the ones after them when they fail fatally: RunSteps goes on
	// and reports the failure at the end (the instance is then degraded, not stuck).
	Optional bool
}

// ErrFatal marks a Check error that must end the wait instead of being retried.
var ErrFatal = errors.New("fatal")

// Backoff bounds how often a Check is retried when nothing wakes it: it starts at Min and doubles up to Max.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff polls fast at first, when the answer is most likely to change, and settles at a
// rate that costs the guest nothing.
var DefaultBackoff = Backoff{Min: 100 * time.Millisecond, Max: 1 * time.Second}

// StepError is returned by RunSteps when a step did not complete.
type StepError struct {
	Step    Step
	Waited  time.Duration
	LastErr error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s: not done after %s", e.Step.Description, e.Waited.Round(time.Second))
	if e.LastErr != nil {
		msg += fmt.Sprintf(" (last check: %v)", e.LastErr)
	}
	if e.Step.Hint != "" {
		msg += "; " + e.Step.Hint
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.LastErr }

// RunSteps runs each step's Check until it reports done, in order, writing a progress event when a
// step begins and when it ends. It returns a *StepError (joined with those of optional steps that
// failed before it) for the step that was pending when ctx ended or whose Check failed fatally;
// optional steps that failed fatally are skipped and their errors returned at the end.
func RunSteps(ctx context.Context, w *events.Writer, steps []Step, b Backoff) error {
	var optionalErrs []error
	for _, s := range steps {
		since := time.Now()
		emit(w, s, since, false)
		var lastErr error
		delay := b.Min
		failed := false
		for {
			ok, err := s.Check(ctx)
			if err != nil {
				if errors.Is(err, ErrFatal) {
					serr := &StepError{Step: s, Waited: time.Since(since), LastErr: err}
					if !s.Optional {
						return errors.Join(append(optionalErrs, serr)...)
					}
					optionalErrs = append(optionalErrs, serr)
					failed = true
					break
				}
				lastErr = err
			}
			if ok {
				break
			}
			timer := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				timer.Stop()
				if lastErr == nil {
					lastErr = ctx.Err()
				}
				return errors.Join(append(optionalErrs, &StepError{Step: s, Waited: time.Since(since), LastErr: lastErr})...)
			case <-s.Wake:
				timer.Stop()
			case <-timer.C:
				delay = min(delay*2, b.Max)
			}
		}
		if failed {
			continue
		}
		emit(w, s, since, true)
	}
	return errors.Join(optionalErrs...)
}

func emit(w *events.Writer, s Step, since time.Time, done bool) {
	if w == nil {
		return
	}
	_ = w.Update(func(st *events.Status) {
		st.Progress = &events.Progress{Step: s.ID, Description: s.Description, Since: since.UTC(), Done: done}
	})
}
