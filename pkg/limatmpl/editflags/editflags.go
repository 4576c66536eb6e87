// Package editflags defines the command-line flags that edit a template or an instance's
// lima.yaml (`limactl create/start/edit/clone/rename --cpus 4 --mount DIR:w ...`) and turns them
// into yq expressions, which limatmpl applies to the YAML text so comments and layout survive.
package editflags

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/networks"
)

// The accepted values of the enumerated flags. They mirror pkg/limayaml's lists, which this
// package does not import so that it builds on its own.
var (
	VMTypes         = []string{"qemu", "vz", "wsl2"}
	MountTypes      = []string{"reverse-sshfs", "9p", "virtiofs", "wsl2"}
	Arches          = []string{"x86_64", "aarch64", "armv7l", "ppc64le", "riscv64", "s390x"}
	ContainerdModes = []string{"user", "system", "user+system", "none"}
	AudioInterfaces = []string{"hda", "virtio"}
)

// archAliases are the Go and Debian names users often type for an architecture.
var archAliases = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "armhf": "armv7l", "ppc64el": "ppc64le"}

// enumValue is a string flag that accepts only a fixed set of values, so a typo fails at
// parse time with the list of valid values.
type enumValue struct {
	value   string
	allowed []string
	aliases map[string]string
}

func (e *enumValue) String() string { return e.value }
func (e *enumValue) Type() string   { return "string" }
func (e *enumValue) Set(s string) error {
	if a, ok := e.aliases[s]; ok {
		s = a
	}
	for _, v := range e.allowed {
		if s == v {
			e.value = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(e.allowed, ", "))
}

func addEnum(cmd *cobra.Command, name string, allowed []string, aliases map[string]string, usage string) {
	cmd.Flags().Var(&enumValue{allowed: allowed, aliases: aliases}, name, usage+" ("+strings.Join(allowed, ", ")+")")
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// RegisterEdit adds the flags that may change an existing instance. commentPrefix starts each
// usage line (e.g. "[limactl create] " when the flags are inherited).
func RegisterEdit(cmd *cobra.Command, commentPrefix string) {
	p := commentPrefix
	f := cmd.Flags()
	f.Int("cpus", 0, p+"Number of CPUs")
	_ = cmd.RegisterFlagCompletionFunc("cpus", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var res []string
		for n := 1; n <= runtime.NumCPU(); n *= 2 {
			res = append(res, strconv.Itoa(n))
		}
		return res, cobra.ShellCompDirectiveNoFileComp
	})
	f.Float32("memory", 0, p+"Memory in GiB")
	_ = cmd.RegisterFlagCompletionFunc("memory", cobra.FixedCompletions([]string{"1", "2", "4", "8", "16", "32"}, cobra.ShellCompDirectiveNoFileComp))
	f.Float32("disk", 0, p+"Disk size in GiB")
	_ = cmd.RegisterFlagCompletionFunc("disk", cobra.FixedCompletions([]string{"10", "30", "50", "100", "200"}, cobra.ShellCompDirectiveNoFileComp))
	addEnum(cmd, "vm-type", VMTypes, nil, p+"Virtual machine type")
	f.StringSlice("mount", nil, p+"Directories to mount, suffix ':w' for writable; comma-separated or repeated (added in front of the template's mounts)")
	_ = cmd.RegisterFlagCompletionFunc("mount", dirCompletion)
	f.StringSlice("mount-only", nil, p+"Like --mount, but replace the template's mounts")
	_ = cmd.RegisterFlagCompletionFunc("mount-only", dirCompletion)
	f.Bool("mount-none", false, p+"Remove all mounts")
	addEnum(cmd, "mount-type", MountTypes, nil, p+"Mount type")
	f.Bool("mount-writable", false, p+"Make all mounts writable")
	f.Bool("mount-inotify", false, p+"Propagate host file events to the guest (experimental)")
	f.StringSlice("network", nil, p+`Additional network, "vzNAT" or "lima:NAME" (e.g. lima:shared, lima:bridged, lima:host, lima:user-v2); repeatable`)
	_ = cmd.RegisterFlagCompletionFunc("network", completeNetworks)
	f.IPSlice("dns", nil, p+"Custom DNS server addresses (disables the host resolver)")
	f.StringArray("param", nil, p+"Set a template parameter, KEY=VALUE; repeatable (the template must declare KEY under param:)")
	f.Uint16("ssh-port", 0, p+"Host port forwarded to the guest's SSH (0 for a random free port)")
	f.Bool("video", false, p+"Enable a graphical display (slows QEMU down)")
	f.Bool("nested-virt", false, p+"Enable nested virtualization")
	f.Bool("rosetta", false, p+"Enable Rosetta to run x86_64 binaries (vz on Apple silicon)")
	f.String("shell", "", p+"Login shell of the guest user, an absolute path (e.g. /bin/zsh)")
	f.StringArray("set", nil, p+"Modify the template in place with a yq expression; repeatable")
}

// RegisterCreate adds the edit flags plus those that only make sense for a new instance.
func RegisterCreate(cmd *cobra.Command, commentPrefix string) {
	RegisterEdit(cmd, commentPrefix)
	p := commentPrefix
	f := cmd.Flags()
	addEnum(cmd, "arch", Arches, archAliases, p+"Machine architecture")
	f.String("image-variant", "", p+"Use only the template's images of this variant (images[].variant)")
	f.String("arch-variant", "", p+"Use only the template's images of this architecture variant (images[].archVariant)")
	addEnum(cmd, "containerd", ContainerdModes, map[string]string{"system+user": "user+system"}, p+"Which containerd to run")
	f.Bool("plain", false, p+"Plain mode: no mounts, no port forwarding, no containerd, no guest agent")
	f.StringArray("port-forward", nil, p+"Port forward HOST:GUEST (ports or ranges, e.g. 8080:80 or 9000-9002:9000-9002), optionally ',static=true'; repeatable")
	f.String("audio-device", "", p+"Audio device of the host to use (e.g. default, pa, coreaudio, none)")
	addEnum(cmd, "audio-interface", AudioInterfaces, nil, p+"Audio interface of the guest")
}

func dirCompletion(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// flagString returns a flag's value as a string, whatever its type.
func flagString(fs *pflag.FlagSet, name string) string {
	if fl := fs.Lookup(name); fl != nil {
		return fl.Value.String()
	}
	return ""
}

// completeNetworks offers vzNAT and lima:NAME for every network of networks.yaml.
func completeNetworks(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	names := []string{"shared", "bridged", "host", "user-v2"}
	if cfg, err := networks.LoadConfig(); err == nil {
		names = slices.Sorted(maps.Keys(cfg.Networks))
	}
	out := []string{"vzNAT"}
	for _, n := range names {
		out = append(out, "lima:"+n)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
