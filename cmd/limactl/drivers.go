package main

// The drivers compiled into limactl register themselves with pkg/driver/registry from init().
// Each package builds on every OS; its register file is tagged for the hosts it runs on.
import (
	_ "github.com/limactl/limactl/pkg/driver/qemu"
	_ "github.com/limactl/limactl/pkg/driver/vz"   // registers on darwin only
	_ "github.com/limactl/limactl/pkg/driver/wsl2" // registers on windows only
)
