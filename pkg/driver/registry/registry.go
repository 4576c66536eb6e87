// Package registry maps vmType names to driver constructors. Drivers register themselves from init() in
// a build-tagged register.go (qemu on linux and darwin, vz on darwin, wsl2 on windows), so a binary holds
// exactly the drivers its OS can run; callers pick one by the instance's vmType.
package registry

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/limactl/limactl/pkg/driver"
)

// NewFunc constructs a driver for one instance. It must not have side effects (see driver.Driver).
type NewFunc func(driver.Config) driver.Driver

var (
	mu      sync.RWMutex
	drivers = map[string]NewFunc{}
)

// Register makes a driver available under name. It panics when name is empty, newFunc is nil, or name
// is registered twice: all three are programming errors found at start-up.
func Register(name string, newFunc NewFunc) {
	if name == "" || newFunc == nil {
		panic("registry: Register needs a name and a constructor")
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := drivers[name]; dup {
		panic(fmt.Sprintf("registry: driver %q registered twice", name))
	}
	drivers[name] = newFunc
}

// List returns the registered driver names, sorted (for `limactl info`).
func List() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(drivers))
	for name := range drivers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the constructor registered under name.
func Lookup(name string) (NewFunc, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := drivers[name]
	return f, ok
}

// New constructs the driver for vmType. An unknown vmType returns an error wrapping
// driver.ErrUnsupported that lists the drivers this binary has.
func New(vmType string, cfg driver.Config) (driver.Driver, error) {
	f, ok := Lookup(vmType)
	if !ok {
		avail := List()
		if len(avail) == 0 {
			return nil, fmt.Errorf("vmType %q: no drivers are built into this limactl: %w", vmType, driver.ErrUnsupported)
		}
		return nil, fmt.Errorf("vmType %q is not available on this host (available: %s); set vmType to one of them: %w",
			vmType, strings.Join(avail, ", "), driver.ErrUnsupported)
	}
	return f(cfg), nil
}

// unregister removes a driver; tests only.
func unregister(name string) {
	mu.Lock()
	defer mu.Unlock()
	delete(drivers, name)
}
