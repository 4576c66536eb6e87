package hostagent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/hostagent/events"
)

func TestRunStepsInOrderWithEvents(t *testing.T) {
	var log strings.Builder
	w := events.NewWriter(&log)
	var order []string
	n := 0
	steps := []Step{
		{ID: "ssh", Description: "Waiting for SSH", Check: func(context.Context) (bool, error) {
			order = append(order, "ssh")
			n++
			if n < 3 {
				return false, errors.New("connection refused")
			}
			return true, nil
		}},
		{ID: "boot-scripts", Description: "Waiting for boot scripts", Check: func(context.Context) (bool, error) {
			order = append(order, "boot")
			return true, nil
		}},
	}
	if err := RunSteps(context.Background(), w, steps, Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ","); got != "ssh,ssh,ssh,boot" {
		t.Errorf("checks ran as %s", got)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], `"step":"ssh"`) || !strings.Contains(lines[1], `"done":true`) ||
		!strings.Contains(lines[2], `"step":"boot-scripts"`) {
		t.Errorf("events:\n%s", log.String())
	}
}

func TestRunStepsReportsStalledStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	steps := []Step{{ID: "user-session", Description: "Waiting for the user session", Hint: "see serial.log",
		Check: func(context.Context) (bool, error) {
			cancel()
			return false, errors.New("no /run/lima-ssh-ready")
		}}}
	err := RunSteps(ctx, nil, steps, DefaultBackoff)
	var se *StepError
	if !errors.As(err, &se) || se.Step.ID != "user-session" {
		t.Fatalf("got %v, want a StepError for user-session", err)
	}
	for _, want := range []string{"Waiting for the user session", "no /run/lima-ssh-ready", "see serial.log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestRunStepsWakesEarly(t *testing.T) {
	wake := make(chan struct{}, 1)
	var ready atomic.Bool
	steps := []Step{{ID: "x", Description: "x", Wake: wake, Check: func(context.Context) (bool, error) { return ready.Load(), nil }}}
	done := make(chan error)
	go func() { done <- RunSteps(context.Background(), nil, steps, Backoff{Min: time.Hour, Max: time.Hour}) }()
	time.Sleep(10 * time.Millisecond)
	ready.Store(true)
	wake <- struct{}{}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a wake-up did not re-run the check")
	}
}

func TestRunStepsFatal(t *testing.T) {
	steps := []Step{{ID: "systemd", Description: "systemd", Check: func(context.Context) (bool, error) {
		return false, errors.Join(ErrFatal, errors.New("no systemd"))
	}}}
	err := RunSteps(context.Background(), nil, steps, DefaultBackoff)
	if !errors.Is(err, ErrFatal) {
		t.Fatalf("got %v", err)
	}
}

// TestRunStepsOptionalFailure: an optional step that fails fatally does not hold up the steps after
// it (containerd failing must not keep mounts and probes from running); its error comes at the end.
// A required step's fatal failure still ends the wait, carrying the optional one's error too.
func TestRunStepsOptionalFailure(t *testing.T) {
	var ran []string
	step := func(id string, optional bool, err error) Step {
		return Step{ID: id, Description: "Waiting for " + id, Optional: optional, Check: func(context.Context) (bool, error) {
			ran = append(ran, id)
			return err == nil, err
		}}
	}
	fatal := fmt.Errorf("%w: containerd: the archive has no bin/containerd", ErrFatal)
	err := RunSteps(context.Background(), nil, []Step{step("containerd", true, fatal), step("mounts", false, nil)}, DefaultBackoff)
	if diff := cmp.Diff([]string{"containerd", "mounts"}, ran); diff != "" {
		t.Errorf("steps run (-want +got):\n%s", diff)
	}
	var se *StepError
	if !errors.As(err, &se) || se.Step.ID != "containerd" || !strings.Contains(err.Error(), "no bin/containerd") {
		t.Fatalf("got %v, want the optional step's error", err)
	}

	ran = nil
	err = RunSteps(context.Background(), nil, []Step{step("containerd", true, fatal), step("probe", false, fmt.Errorf("%w: probe", ErrFatal)), step("never", false, nil)}, DefaultBackoff)
	if diff := cmp.Diff([]string{"containerd", "probe"}, ran); diff != "" {
		t.Errorf("steps run (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "no bin/containerd") || !strings.Contains(err.Error(), "Waiting for probe") {
		t.Errorf("error %v lacks one of the two failures", err)
	}
}
