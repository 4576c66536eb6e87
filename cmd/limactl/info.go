package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limatmpl"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
	"github.com/limactl/limactl/pkg/usrlocal"
	"github.com/limactl/limactl/templates"
)

// InfoOptions are the inputs of `limactl info`.
type InfoOptions struct {
	IO *iostreams.IOStreams
	// YQ is the --yq expression applied to the JSON.
	YQ string
}

// Info is the JSON `limactl info` prints; the field names are Lima's.
type Info struct {
	Version         string             `json:"version"`
	Templates       []TemplateInfo     `json:"templates"`
	DefaultTemplate *limayaml.LimaYAML `json:"defaultTemplate"`
	LimaHome        string             `json:"limaHome"`
	VMTypes         []string           `json:"vmTypes"`
	// VMTypeRecommended is what docs/vmtypes.md's flowchart suggests for this host (our addition).
	VMTypeRecommended limayaml.Recommendation `json:"vmTypeRecommended"`
	GuestAgents       map[string]GuestAgent   `json:"guestAgents"`
	ShellEnvBlock     []string                `json:"shellEnvBlock"`
	HostOS            string                  `json:"hostOS"`
	HostArch          string                  `json:"hostArch"`
	IdentityFile      string                  `json:"identityFile"`
	// VMTypesEx has an entry per driver; Location is set for an external driver binary only.
	VMTypesEx    map[string]DriverExt `json:"vmTypesEx"`
	Plugins      []usrlocal.Plugin    `json:"plugins"`
	LibexecPaths []string             `json:"libexecPaths"`
	SharePaths   []string             `json:"sharePaths"`
}

// DriverExt describes one driver of vmTypesEx.
type DriverExt struct {
	Location string `json:"location,omitempty"`
}

// TemplateInfo names one template and the file it is read from.
type TemplateInfo struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// GuestAgent locates the guest agent binary for one guest arch.
type GuestAgent struct {
	Location string `json:"location"`
}

// defaultShellEnvBlock are the host variables `limactl shell --preserve-env` never passes on.
var defaultShellEnvBlock = []string{
	"BASH*", "DISPLAY", "DYLD_*", "EUID", "FPATH", "GID", "GROUP", "HOME", "HOSTNAME", "LD_*", "LOGNAME",
	"OLDPWD", "PATH", "PWD", "SHELL", "SHLVL", "SSH_*", "TERM", "TERMINFO", "TMPDIR", "UID", "USER",
	"XAUTHORITY", "XDG_*", "ZDOTDIR", "ZSH*", "_*",
}

func newInfoCommand(ios *iostreams.IOStreams, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{IO: ios}
	cmd := &cobra.Command{
		Use:     "info",
		Short:   "Show diagnostic information",
		Example: "  $ limactl info --yq .limaHome",
		Args:    cobra.NoArgs,
		GroupID: "advanced",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runInfo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.YQ, "yq", ".", "Apply yq expression to output (env and file operators are disabled)")
	return cmd
}

func runInfo(_ context.Context, opts *InfoOptions) error {
	limaHome, err := dirnames.LimaDir()
	if err != nil {
		return err
	}
	configDir, err := dirnames.LimaConfigDir()
	if err != nil {
		return err
	}
	info := Info{
		Version:           version,
		LimaHome:          limaHome,
		VMTypes:           registry.List(),
		VMTypeRecommended: limayaml.Recommend(limayaml.Host()),
		GuestAgents:       guestAgents(),
		ShellEnvBlock:     defaultShellEnvBlock,
		HostOS:            runtime.GOOS,
		HostArch:          store.HostArch(),
		IdentityFile:      filepath.Join(configDir, filenames.UserPrivateKey),
		VMTypesEx:         map[string]DriverExt{},
		Plugins:           usrlocal.Plugins(),
		LibexecPaths:      usrlocal.LibexecLima(),
		SharePaths:        usrlocal.ShareLima(),
	}
	if len(info.VMTypes) == 0 {
		info.VMTypes = []string{limayaml.QEMU}
	}
	for _, t := range info.VMTypes {
		info.VMTypesEx[t] = DriverExt{}
	}
	if info.Templates, err = templateInfos(); err != nil {
		return err
	}
	b, err := templates.Read("default")
	if err != nil {
		return fmt.Errorf("the default template is missing from this build: %w", err)
	}
	if info.DefaultTemplate, err = store.LoadYAML(b, ""); err != nil {
		return fmt.Errorf("cannot load the default template: %w", err)
	}
	return printJSONYQ(opts.IO, info, opts.YQ)
}

// templateInfos lists the templates `limactl template list` shows, each with the path of the
// file template:NAME reads (embedded templates are copied under the cache directory).
func templateInfos() ([]TemplateInfo, error) {
	names, err := limatmpl.ListTemplates(false)
	if err != nil {
		return nil, err
	}
	cache, err := downloader.CacheDir()
	if err != nil {
		return nil, err
	}
	infos := make([]TemplateInfo, 0, len(names))
	warned := false
	for _, n := range names {
		p, err := limatmpl.TemplateFile(n, filepath.Join(cache, "templates"))
		if err != nil {
			// A cache we cannot write to must not cost the rest of `limactl info`: the locator
			// still works with limactl.
			if !warned {
				logrus.WithError(err).Warnf("cannot write the built-in templates under %s; listing them as template:NAME", cache)
				warned = true
			}
			p = "template:" + n
		}
		infos = append(infos, TemplateInfo{Name: n, Location: p})
	}
	return infos, nil
}

// guestAgents finds <prefix>/share/lima/lima-guestagent.Linux-<arch>[.gz] next to this binary.
func guestAgents() map[string]GuestAgent {
	agents := map[string]GuestAgent{}
	for _, share := range usrlocal.ShareLima() {
		for _, arch := range limayaml.ArchTypes {
			if _, ok := agents[arch]; ok {
				continue
			}
			for _, suffix := range []string{"", ".gz"} {
				p := filepath.Join(share, "lima-guestagent.Linux-"+arch+suffix)
				if _, err := os.Stat(p); err == nil {
					agents[arch] = GuestAgent{Location: p}
					break
				}
			}
		}
	}
	return agents
}
