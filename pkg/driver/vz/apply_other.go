//go:build !darwin || !cgo

package vz

import (
	"fmt"
	"runtime"

	"github.com/limactl/limactl/pkg/driver"
)

// DefaultHypervisor is Virtualization.framework, which exists only in darwin builds with cgo. Here it
// is a stand-in whose every effect reports driver.ErrUnsupported; the plan, the lifecycle and the
// conformance suite still run with a fake Hypervisor.
func DefaultHypervisor() Hypervisor { return unsupportedHypervisor{} }

type unsupportedHypervisor struct{}

func errUnsupported() error {
	if runtime.GOOS == "darwin" {
		return fmt.Errorf("vz: this limactl was built without cgo, so it cannot use Virtualization.framework; rebuild with CGO_ENABLED=1 or use vmType: qemu: %w", driver.ErrUnsupported)
	}
	return fmt.Errorf("vz: Virtualization.framework exists only on macOS, and this is %s; use vmType: qemu: %w", runtime.GOOS, driver.ErrUnsupported)
}

func (unsupportedHypervisor) Probe() HostFacts                      { return HostFacts{Rosetta: RosettaUnsupported} }
func (unsupportedHypervisor) NewMachineIdentifier() ([]byte, error) { return nil, errUnsupported() }
func (unsupportedHypervisor) CreateEFIVariableStore(string) error   { return errUnsupported() }
func (unsupportedHypervisor) NewMachine(*Spec) (Machine, error)     { return nil, errUnsupported() }

// frameworkAvailable reports why Virtualization.framework cannot be used by this binary.
func frameworkAvailable() error { return errUnsupported() }
