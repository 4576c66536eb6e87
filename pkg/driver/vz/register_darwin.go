package vz

import "github.com/limactl/limactl/pkg/driver/registry"

// vz is registered on macOS only. Without cgo it still registers, and Validate explains that this
// build cannot use Virtualization.framework.
func init() { registry.Register(Name, New) }
