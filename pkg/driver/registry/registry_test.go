package registry

import (
	"errors"
	"slices"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
)

type nopDriver struct{ driver.Driver }

func TestRegisterListNew(t *testing.T) {
	const name = "zz-test"
	Register(name, func(driver.Config) driver.Driver { return nopDriver{} })
	t.Cleanup(func() { unregister(name) })

	if !slices.Contains(List(), name) {
		t.Fatalf("List() = %v, want it to contain %q", List(), name)
	}
	if !slices.IsSorted(List()) {
		t.Errorf("List() = %v, not sorted", List())
	}
	if _, err := New(name, driver.Config{}); err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	if _, err := New("no-such-driver", driver.Config{}); !errors.Is(err, driver.ErrUnsupported) {
		t.Fatalf("New(unknown) error = %v, want ErrUnsupported", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	const name = "zz-twice"
	Register(name, func(driver.Config) driver.Driver { return nopDriver{} })
	t.Cleanup(func() { unregister(name) })
	defer func() {
		if recover() == nil {
			t.Fatal("second Register did not panic")
		}
	}()
	Register(name, func(driver.Config) driver.Driver { return nopDriver{} })
}
