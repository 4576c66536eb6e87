//go:build linux || darwin

package qemu

import "github.com/limactl/limactl/pkg/driver/registry"

func init() { registry.Register(Name, New) }
