package store

// This file is the one place where pkg/store reaches into pkg/limayaml for loading. Until
// limayaml.Load lands, it parses the YAML with yaml.v3 and fills the few defaults listing needs.
// Switch: replace the body of LoadYAML with `return limayaml.Load(data, filePath)`.

import (
	"fmt"
	"runtime"

	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/limayaml"
)

// LoadYAML parses an instance or template YAML and fills in defaults (limayaml.Load).
func LoadYAML(data []byte, filePath string) (*limayaml.LimaYAML, error) {
	var y limayaml.LimaYAML
	if err := yaml.Unmarshal(data, &y); err != nil {
		return nil, fmt.Errorf("failed to parse %q: %w", filePath, err)
	}
	fillMinimalDefaults(&y)
	return &y, nil
}

func fillMinimalDefaults(y *limayaml.LimaYAML) {
	str := func(s string) *string { return &s }
	if y.VMType == nil {
		y.VMType = str(limayaml.QEMU)
	}
	if y.OS == nil {
		y.OS = str(limayaml.LINUX)
	}
	if y.Arch == nil {
		y.Arch = str(HostArch())
	}
	if y.CPUs == nil {
		n := min(4, runtime.NumCPU())
		y.CPUs = &n
	}
	if y.Memory == nil {
		y.Memory = str("4GiB")
	}
	if y.Disk == nil {
		y.Disk = str("100GiB")
	}
}

// HostArch returns the host architecture in Lima's spelling (x86_64, aarch64, ...).
func HostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return limayaml.X8664
	case "arm64":
		return limayaml.AARCH64
	case "arm":
		return limayaml.ARMV7L
	case "riscv64":
		return limayaml.RISCV64
	case "ppc64le":
		return limayaml.PPC64LE
	case "s390x":
		return limayaml.S390X
	}
	return runtime.GOARCH
}
