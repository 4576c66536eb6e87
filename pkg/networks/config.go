package networks

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"

	"github.com/goccy/go-yaml"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
	"github.com/limactl/limactl/pkg/usrlocal"
)

//go:embed networks.TEMPLATE.yaml
var defaultTemplate string

// DefaultSocketVMNet is the socket_vmnet path written when socket_vmnet is not found: where its
// installer put it before Lima 0.14.
const DefaultSocketVMNet = "/opt/socket_vmnet/bin/socket_vmnet"

// DefaultGroup is the group allowed to run the network daemons when networks.yaml names none.
const DefaultGroup = "everyone"

// socketVMNetCandidates are looked up in order; the first found (symlinks resolved) is written
// into a new networks.yaml.
var socketVMNetCandidates = []string{
	DefaultSocketVMNet,
	"socket_vmnet", // $PATH
	"/usr/local/opt/socket_vmnet/bin/socket_vmnet",    // Homebrew on Intel
	"/opt/homebrew/opt/socket_vmnet/bin/socket_vmnet", // Homebrew on Apple silicon
}

// findSocketVMNet returns the socket_vmnet path a new networks.yaml names.
func findSocketVMNet() (string, error) {
	for _, c := range socketVMNetCandidates {
		p, err := exec.LookPath(c)
		if err != nil {
			logrus.WithError(err).Debugf("socket_vmnet is not at %#q", c)
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", err
		}
		return real, nil
	}
	return DefaultSocketVMNet, nil
}

// DefaultConfigBytes renders the networks.yaml written on first use. A
// <prefix>/share/lima/defaults/networks.TEMPLATE.yaml next to limactl replaces the built-in
// template, as in Lima.
func DefaultConfigBytes() ([]byte, error) {
	sv, err := findSocketVMNet()
	if err != nil {
		return nil, err
	}
	return renderTemplate(sv)
}

func renderTemplate(socketVMNet string) ([]byte, error) {
	text := defaultTemplate
	for _, dir := range usrlocal.ShareLima() {
		if b, err := os.ReadFile(filepath.Join(dir, "defaults", "networks.TEMPLATE.yaml")); err == nil {
			text = string(b)
			break
		}
	}
	tmpl, err := template.New("networks.yaml").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the networks.yaml template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ SocketVMNet string }{socketVMNet}); err != nil {
		return nil, fmt.Errorf("cannot render the networks.yaml template: %w", err)
	}
	return buf.Bytes(), nil
}

// DefaultConfig is the parsed default networks.yaml.
func DefaultConfig() (Config, error) {
	b, err := DefaultConfigBytes()
	if err != nil {
		return Config{}, err
	}
	var c Config
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
		return Config{}, fmt.Errorf("the default networks.yaml is invalid: %w", err)
	}
	return c, nil
}

// ConfigFile returns the path of $LIMA_HOME/_config/networks.yaml.
func ConfigFile() (string, error) {
	dir, err := dirnames.LimaConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filenames.NetworksConfig), nil
}

// EnsureConfigFile writes the default networks.yaml unless the file exists, and returns its path.
func EnsureConfigFile() (string, error) {
	path, err := ConfigFile()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("cannot create %#q: %w", filepath.Dir(path), err)
	}
	b, err := DefaultConfigBytes()
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// LoadConfig reads networks.yaml, writing the default first when it does not exist yet.
func LoadConfig() (Config, error) {
	path, err := EnsureConfigFile()
	if err != nil {
		return Config{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(b, path)
}

// Parse decodes networks.yaml content (path names it in messages) and fills the defaults: as in
// Lima, a user-v2 network is always defined, the default one when the file has no user-v2 network
// with a gateway. Unknown fields are tolerated with a warning (networks.yaml files of Lima before
// 0.22 have paths.vdeSwitch and paths.vdeVMNet).
func Parse(b []byte, path string) (Config, error) {
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("cannot parse %#q: %s", path, yaml.FormatError(err, false, false))
	}
	var strict Config
	if err := yaml.UnmarshalWithOptions(b, &strict, yaml.Strict()); err != nil {
		logrus.WithError(err).Warnf("%s has fields limactl does not know; they are ignored", path)
	}
	if err := fillDefaults(&c); err != nil {
		return Config{}, fmt.Errorf("cannot fill the defaults of %#q: %w", path, err)
	}
	return c, nil
}

func fillDefaults(c *Config) error {
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.Networks == nil {
		c.Networks = map[string]Network{}
	}
	for _, nw := range c.Networks {
		if nw.Mode == ModeUserV2 && nw.Gateway != nil {
			return nil
		}
	}
	d, err := defaultUserV2()
	if err != nil {
		return err
	}
	c.Networks[ModeUserV2] = d
	return nil
}

// defaultUserV2 is the user-v2 entry of the built-in template (it does not depend on the host).
func defaultUserV2() (Network, error) {
	b, err := renderTemplate(DefaultSocketVMNet)
	if err != nil {
		return Network{}, err
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return Network{}, err
	}
	nw, ok := c.Networks[ModeUserV2]
	if !ok {
		return Network{}, errors.New("the networks.yaml template defines no user-v2 network")
	}
	return nw, nil
}

// NameModes maps every network name of networks.yaml to its mode.
func NameModes() (map[string]string, error) {
	c, err := LoadConfig()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(c.Networks))
	for name, nw := range c.Networks {
		m[name] = nw.Mode
	}
	return m, nil
}
