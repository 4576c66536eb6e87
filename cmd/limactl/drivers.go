package main

// The drivers compiled into limactl register themselves with pkg/driver/registry from init().
import (
	_ "github.com/limactl/limactl/pkg/driver/qemu"
	_ "github.com/limactl/limactl/pkg/driver/vz" // registers on darwin only
)
