package limayaml

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Load parses data (the content of filePath) and completes it with FillDefault, layering
// $LIMA_HOME/_config/default.yaml and override.yaml when they exist. Unknown-field warnings are
// logged. A param key that nothing refers to is accepted, as in Lima 2.2 (whose Ubuntu 26.04 image
// template sets internal_netplanOptional, read only by the cloud-init seed). Load does not Validate.
func Load(data []byte, filePath string) (*LimaYAML, error) {
	return load(data, filePath, false)
}

// LoadWithWarnings is Load that also logs deprecations met while filling defaults.
func LoadWithWarnings(data []byte, filePath string) (*LimaYAML, error) {
	return load(data, filePath, true)
}

// LoadAs is Load for a config that is not stored at filePath (yet): filePath still decides the
// instance name and directory that defaults are computed from, but messages about data name
// displayName, the file the user gave (`limactl validate ./my.yaml`).
func LoadAs(data []byte, filePath, displayName string) (*LimaYAML, error) {
	return loadNamed(data, filePath, displayName, false)
}

// LoadFile reads and loads the lima.yaml at path.
func LoadFile(path string) (*LimaYAML, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the instance config: %w", err)
	}
	return Load(data, path)
}

func load(data []byte, filePath string, warn bool) (*LimaYAML, error) {
	return loadNamed(data, filePath, filePath, warn)
}

func loadNamed(data []byte, filePath, name string, warn bool) (*LimaYAML, error) {
	var y, d, o LimaYAML
	if name == "" {
		name = "lima.yaml"
	}
	if err := unmarshalLogged(data, &y, name); err != nil {
		return nil, err
	}
	configDir, err := dirnames.LimaConfigDir()
	if err != nil {
		return nil, err
	}
	for _, layer := range []struct {
		file string
		into *LimaYAML
	}{{filenames.Default, &d}, {filenames.Override, &o}} {
		p := filepath.Join(configDir, layer.file)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", p, err)
		}
		if err := unmarshalLogged(b, layer.into, p); err != nil {
			for _, fe := range FieldErrors(err) {
				fe.Layer = layer.file
			}
			return nil, fmt.Errorf("%w (fix or remove %s)", err, p)
		}
	}
	FillDefault(&y, &d, &o, filePath, warn)
	return &y, nil
}

func unmarshalLogged(data []byte, y *LimaYAML, file string) error {
	warnings, err := Unmarshal(data, y, file)
	for _, w := range warnings {
		logrus.Warn(w)
	}
	return err
}
