package store

import (
	"runtime"

	"github.com/limactl/limactl/pkg/limayaml"
)

// LoadYAML parses an instance or template YAML and fills in defaults (limayaml.Load: the
// builtin defaults layered with $LIMA_HOME/_config/default.yaml and override.yaml).
func LoadYAML(data []byte, filePath string) (*limayaml.LimaYAML, error) {
	return limayaml.Load(data, filePath)
}

// HostArch returns the host architecture in Lima's spelling (x86_64, aarch64, ...).
func HostArch() string { return limayaml.GoArchToLima(runtime.GOARCH) }
