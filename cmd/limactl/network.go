package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/goccy/go-yaml"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/identifiers"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limatmpl"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/networks"
	"github.com/limactl/limactl/pkg/store"
)

// lima.yaml's `lima: NAME` networks are checked against networks.yaml.
func init() { limayaml.NetworkModes = networks.NameModes }

const networkCreateExample = `  Create a network:
  $ limactl network create foo --gateway 192.168.42.1/24

  Connect VM instances to the newly created network:
  $ limactl create --network lima:foo --name vm1
  $ limactl create --network lima:foo --name vm2
`

func newNetworkCommand(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Lima network management",
		Long: `Manage the networks of $LIMA_HOME/_config/networks.yaml, which lima.yaml's networks entries
name with "lima: NAME" (or limactl create --network lima:NAME). The file is written with
Lima's default networks (user-v2, shared, bridged, host) on first use.

Modes: user-v2 is a user-mode network that also connects the instances attached to it;
shared, host and bridged are run by socket_vmnet with macOS's vmnet.framework and work only
on macOS hosts (see limactl sudoers).`,
		Example: networkCreateExample,
		GroupID: "advanced",
	}
	cmd.AddCommand(
		newNetworkListCommand(ios),
		newNetworkCreateCommand(ios),
		newNetworkDeleteCommand(ios),
	)
	return cmd
}

func completeNetworkNames(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, err := networks.LoadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return slices.Sorted(maps.Keys(cfg.Networks)), cobra.ShellCompDirectiveNoFileComp
}

func newNetworkListCommand(ios *iostreams.IOStreams) *cobra.Command {
	var ff formatFlags
	cmd := &cobra.Command{
		Use:     "list [NETWORK]...",
		Short:   "List networks",
		Aliases: []string{"ls"},
		Long: `List the networks of $LIMA_HOME/_config/networks.yaml, all of them or the ones named.

  --format table - NAME, MODE, GATEWAY (gateway/prefix) and INTERFACE columns (the default)
  --format json  - one JSON object per network, as Lima prints it (--json does the same)
  --format yaml  - the networks entries, as networks.yaml holds them
  --format '{{ <go template> }}' - a go template run for each network; its fields are
                   .Name, .Mode, .Gateway, .DHCPEnd, .NetMask and .Interface`,
		ValidArgsFunction: completeNetworkNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := ff.resolve(cmd)
			if err != nil {
				return err
			}
			return runNetworkList(ios, format, args)
		},
	}
	ff.register(cmd)
	return cmd
}

// networkView is what a --format go template sees.
type networkView struct {
	Name string
	networks.Network
}

func runNetworkList(ios *iostreams.IOStreams, format string, args []string) error {
	cfg, err := networks.LoadConfig()
	if err != nil {
		return err
	}
	all := slices.Sorted(maps.Keys(cfg.Networks))
	names := all
	if len(args) > 0 {
		names = nil
		for _, arg := range args {
			if slices.Contains(all, arg) {
				names = append(names, arg)
			} else {
				logrus.Warnf("No network matching %v found.", arg)
			}
		}
	}
	w := ios.Out
	switch {
	case format == "json":
		for _, name := range names {
			b, err := json.Marshal(cfg.Networks[name])
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		}
		return nil
	case format == "yaml":
		if len(names) == 0 {
			return nil
		}
		sel := map[string]networks.Network{}
		for _, name := range names {
			sel[name] = cfg.Networks[name]
		}
		b, err := yaml.MarshalWithOptions(sel, yaml.Indent(2))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case format == "table":
		tw := tabwriter.NewWriter(w, 4, 8, 4, ' ', 0)
		fmt.Fprintln(tw, "NAME\tMODE\tGATEWAY\tINTERFACE")
		for _, name := range names {
			nw := cfg.Networks[name]
			gw := "-"
			if nw.Gateway != nil {
				mask := nw.NetMask
				if mask == nil {
					mask = net.IPv4(255, 255, 255, 0)
				}
				gw = (&net.IPNet{IP: nw.Gateway, Mask: net.IPMask(mask)}).String()
			}
			intf := "-"
			if nw.Interface != "" {
				intf = nw.Interface
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, nw.Mode, gw, intf)
		}
		return tw.Flush()
	case strings.HasPrefix(format, "{{"):
		tmpl, err := template.New("format").Parse(format)
		if err != nil {
			return fmt.Errorf("invalid go template %q: %w", format, err)
		}
		for _, name := range names {
			var buf bytes.Buffer
			if err := tmpl.Execute(&buf, networkView{Name: name, Network: cfg.Networks[name]}); err != nil {
				return fmt.Errorf("cannot run the go template %q on network %q: %w", format, name, err)
			}
			fmt.Fprintln(w, strings.TrimSuffix(buf.String(), "\n"))
		}
		return nil
	}
	return fmt.Errorf("unknown format %q: use json, yaml, table or a go template", format)
}

func newNetworkCreateCommand(*iostreams.IOStreams) *cobra.Command {
	var mode, gateway, intf string
	cmd := &cobra.Command{
		Use:   "create NETWORK",
		Short: "Create a Lima network",
		Long: `Add a network to $LIMA_HOME/_config/networks.yaml.

A user-v2, host or shared network needs --gateway, the host's address on it with an
optional prefix length (/24 when left out); a bridged network needs --interface, the host
interface to bridge (en0, ...), and takes no gateway.`,
		Example:           networkCreateExample,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkCreate(cmd.Context(), args[0], mode, gateway, intf)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&mode, "mode", networks.ModeUserV2, "mode: "+strings.Join(networks.Modes, ", "))
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(networks.Modes, cobra.ShellCompDirectiveNoFileComp))
	flags.StringVar(&gateway, "gateway", "", `gateway, e.g., "192.168.42.1/24"`)
	flags.StringVar(&intf, "interface", "", "interface for bridged mode")
	_ = cmd.RegisterFlagCompletionFunc("interface", completeHostInterfaces)
	return cmd
}

func completeHostInterfaces(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

func runNetworkCreate(_ context.Context, name, mode, gateway, intf string) error {
	if err := identifiers.Validate(name); err != nil {
		return fmt.Errorf("invalid network name: %w", err)
	}
	cfg, err := networks.LoadConfig()
	if err != nil {
		return err
	}
	if _, ok := cfg.Networks[name]; ok {
		return fmt.Errorf("network %q already exists", name)
	}
	if !networks.IsValidMode(mode) {
		return fmt.Errorf("network mode %q is not supported: use one of %s", mode, strings.Join(networks.Modes, ", "))
	}
	var entry string
	switch mode {
	case networks.ModeBridged:
		if gateway != "" {
			return fmt.Errorf("network mode %q does not support specifying gateway", mode)
		}
		if intf == "" {
			return fmt.Errorf("network mode %q requires specifying interface", mode)
		}
		if strings.ContainsAny(intf, " \t\n/") {
			return fmt.Errorf("invalid interface name %q", intf)
		}
		entry = fmt.Sprintf(`{"mode": %s, "interface": %s}`, strconv.Quote(mode), strconv.Quote(intf))
	default:
		if gateway == "" {
			return fmt.Errorf("network mode %q requires specifying gateway", mode)
		}
		if intf != "" {
			return fmt.Errorf("network mode %q does not support specifying interface", mode)
		}
		if !strings.Contains(gateway, "/") {
			gateway += "/24"
		}
		ip, ipnet, err := net.ParseCIDR(gateway)
		if err != nil {
			return fmt.Errorf("failed to parse CIDR %q: %w", gateway, err)
		}
		if ip.IsUnspecified() || ip.IsLoopback() {
			return fmt.Errorf("invalid IP address: %v", ip)
		}
		mask := net.IP(ipnet.Mask).String()
		entry = fmt.Sprintf(`{"mode": %s, "gateway": %s, "netmask": %s}`, strconv.Quote(mode), strconv.Quote(ip.String()), strconv.Quote(mask))
	}
	if networks.NeedsSocketVMNet(mode) && runtime.GOOS != "darwin" {
		logrus.Warnf("network %q (mode %s) is run by socket_vmnet and works only on macOS hosts; on this host instances can use a %s network or a socket: path",
			name, mode, networks.ModeUserV2)
	}
	return editNetworksYAML(fmt.Sprintf(".networks.%s = %s", strconv.Quote(name), entry))
}

// editNetworksYAML applies a yq expression to networks.yaml (keeping its comments) and replaces
// the file atomically.
func editNetworksYAML(expr string) error {
	path, err := networks.EnsureConfigFile()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := limatmpl.EvaluateExpression(expr, b)
	if err != nil {
		return err
	}
	if _, err := networks.Parse(out, path); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, out, 0o644)
}

func newNetworkDeleteCommand(*iostreams.IOStreams) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "delete NETWORK [NETWORK, ...]",
		Short:   "Delete one or more Lima networks",
		Aliases: []string{"remove", "rm"},
		Long: `Delete networks from $LIMA_HOME/_config/networks.yaml.

As in Lima, --force is always required. Instances whose lima.yaml still names a deleted
network are listed in a warning: they cannot start until the network is created again or
the entry is removed from their networks (limactl edit).`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeNetworkNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkDelete(cmd.Context(), args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force delete (currently always required)")
	return cmd
}

func runNetworkDelete(ctx context.Context, names []string, force bool) error {
	if !force {
		return errors.New("`limactl network delete` currently always requires `--force`")
	}
	cfg, err := networks.LoadConfig()
	if err != nil {
		return err
	}
	users := networkUsers(ctx)
	var exprs []string
	for _, name := range names {
		if _, ok := cfg.Networks[name]; !ok {
			logrus.Warnf("network %q does not exist", name)
			continue
		}
		if insts := users[name]; len(insts) > 0 {
			logrus.Warnf("network %q is used by instance(s) %s: they cannot start until it is created again or removed from their networks",
				name, strings.Join(insts, ", "))
		}
		exprs = append(exprs, fmt.Sprintf("del(.networks.%s)", strconv.Quote(name)))
	}
	if len(exprs) == 0 {
		return nil
	}
	return editNetworksYAML(strings.Join(exprs, " | "))
}

// networkUsers maps network names to the instances whose lima.yaml names them with `lima: NAME`.
func networkUsers(ctx context.Context) map[string][]string {
	users := map[string][]string{}
	names, err := store.Instances()
	if err != nil {
		logrus.WithError(err).Debug("cannot list the instances")
		return users
	}
	for _, n := range names {
		inst, err := store.Inspect(ctx, n)
		if err != nil {
			continue
		}
		for _, nw := range inst.Networks {
			if nw.Lima != "" && !slices.Contains(users[nw.Lima], n) {
				users[nw.Lima] = append(users[nw.Lima], n)
			}
		}
	}
	return users
}
