package wsl2

import "github.com/limactl/limactl/pkg/driver/registry"

func init() { registry.Register(Name, New) }
