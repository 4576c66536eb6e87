package editflags

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// newInstanceOnly are the flags ignored (with a warning) when editing an existing instance.
var newInstanceOnly = map[string]bool{"arch": true, "image-variant": true, "arch-variant": true, "containerd": true, "plain": true}

type exprFunc func(fs *pflag.FlagSet, name string) (string, error)

// order is the order expressions are produced in. --set comes last, so a user's own yq
// expression sees (and can override) the effect of every other flag.
var order = []struct {
	name string
	fn   exprFunc
}{
	{"arch", quoted(".arch = %s")},
	{"image-variant", quoted(".images |= map(select(.variant == %s))")},
	{"arch-variant", quoted(".images |= map(select(.archVariant == %s))")},
	{"containerd", containerdExpr},
	{"plain", boolExpr(".plain = %t")},
	{"vm-type", quoted(".vmType = %s")},
	{"cpus", cpusExpr},
	{"memory", sizeExpr(".memory")},
	{"disk", sizeExpr(".disk")},
	{"mount-type", quoted(".mountType = %s")},
	{"mount-inotify", boolExpr(".mountInotify = %t")},
	{"mount", mountExpr},
	{"mount-only", mountOnlyExpr},
	{"mount-none", mountNoneExpr},
	{"mount-writable", boolExpr("with(select(.mounts != null); .mounts[].writable = %t)")},
	{"network", networkExpr},
	{"dns", dnsExpr},
	{"port-forward", portForwardExpr},
	{"ssh-port", sshPortExpr},
	{"video", videoExpr},
	{"nested-virt", boolExpr(".nestedVirtualization = %t")},
	{"rosetta", boolExpr(".vmOpts.vz.rosetta.enabled = %[1]t | .vmOpts.vz.rosetta.binfmt = %[1]t")},
	{"shell", shellExpr},
	{"audio-device", quoted(".audio.device = %s")},
	{"audio-interface", quoted(".audio.interface = %s")},
	{"param", paramExpr},
	{"set", nil}, // each --set is its own expression
}

// YQExpressions turns the edit flags the user set into yq expressions, in a fixed order
// (--set last). With newInstance false, --arch, --image-variant, --arch-variant,
// --containerd and --plain are ignored with a warning. Wrong values give an error naming the flag.
// Flags that are not registered on fs are skipped.
func YQExpressions(fs *pflag.FlagSet, newInstance bool) ([]string, error) {
	var exprs []string
	for _, o := range order {
		fl := fs.Lookup(o.name)
		if fl == nil || !fl.Changed {
			continue
		}
		if !newInstance && newInstanceOnly[o.name] {
			logrus.Warnf("Ignoring --%s: it only applies when creating an instance", o.name)
			continue
		}
		if o.name == "set" {
			sets, err := fs.GetStringArray("set")
			if err != nil {
				return nil, err
			}
			for _, e := range sets {
				if strings.TrimSpace(e) != "" {
					exprs = append(exprs, e)
				}
			}
			continue
		}
		e, err := o.fn(fs, o.name)
		if err != nil {
			return nil, err
		}
		if e != "" {
			exprs = append(exprs, e)
		}
	}
	return exprs, nil
}

// Quote renders s as a yq string literal.
func Quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`
}

func quoted(format string) exprFunc {
	return func(fs *pflag.FlagSet, name string) (string, error) {
		return fmt.Sprintf(format, Quote(flagString(fs, name))), nil
	}
}

func boolExpr(format string) exprFunc {
	return func(fs *pflag.FlagSet, name string) (string, error) {
		b, err := fs.GetBool(name)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(format, b), nil
	}
}

func cpusExpr(fs *pflag.FlagSet, name string) (string, error) {
	n, err := fs.GetInt(name)
	if err != nil {
		return "", err
	}
	if n <= 0 {
		return "", fmt.Errorf("--cpus must be a positive number of CPUs, got %d", n)
	}
	return fmt.Sprintf(".cpus = %d", n), nil
}

func sizeExpr(field string) exprFunc {
	return func(fs *pflag.FlagSet, name string) (string, error) {
		f, err := fs.GetFloat32(name)
		if err != nil {
			return "", err
		}
		if f <= 0 {
			return "", fmt.Errorf("--%s must be a positive size in GiB (e.g. 4 or 0.5), got %v", name, f)
		}
		return fmt.Sprintf(`%s = "%sGiB"`, field, strconv.FormatFloat(float64(f), 'f', -1, 32)), nil
	}
}

func containerdExpr(fs *pflag.FlagSet, name string) (string, error) {
	system, user := false, false
	switch v := flagString(fs, name); v {
	case "user":
		user = true
	case "system":
		system = true
	case "user+system", "system+user":
		system, user = true, true
	case "none":
	default:
		return "", fmt.Errorf("--containerd must be one of %s, got %q", strings.Join(ContainerdModes, ", "), v)
	}
	return fmt.Sprintf(".containerd.system = %t | .containerd.user = %t", system, user), nil
}

// mountList parses DIR[:w] values into a yq list of mounts. As in Lima, a value is a
// comma-separated list (CSV: quote a directory whose name holds a comma). "~" and relative paths are made
// absolute, as the guest cannot know the host's working directory.
func mountList(fs *pflag.FlagSet, name string) (string, error) {
	vals, err := fs.GetStringSlice(name)
	if err != nil {
		return "", err
	}
	var items []string
	for _, v := range vals {
		loc, writable := v, false
		switch {
		case strings.HasSuffix(v, ":w"), strings.HasSuffix(v, ":rw"):
			loc, writable = v[:strings.LastIndexByte(v, ':')], true
		case strings.HasSuffix(v, ":ro"):
			loc = strings.TrimSuffix(v, ":ro")
		}
		if loc == "" {
			return "", fmt.Errorf("--%s %q: give a directory, optionally followed by :w for writable (e.g. ~/src:w)", name, v)
		}
		abs, err := expandPath(loc)
		if err != nil {
			return "", fmt.Errorf("--%s %q: %w", name, v, err)
		}
		items = append(items, fmt.Sprintf(`{"location": %s, "writable": %t}`, Quote(abs), writable))
	}
	return "[" + strings.Join(items, ", ") + "]", nil
}

func expandPath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, p[1:])
	}
	return filepath.Abs(p)
}

func mountExpr(fs *pflag.FlagSet, name string) (string, error) {
	if err := mountConflicts(fs); err != nil {
		return "", err
	}
	list, err := mountList(fs, name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(".mounts = %s + (.mounts // []) | .mounts |= unique_by(.location)", list), nil
}

func mountOnlyExpr(fs *pflag.FlagSet, name string) (string, error) {
	if err := mountConflicts(fs); err != nil {
		return "", err
	}
	list, err := mountList(fs, name)
	if err != nil {
		return "", err
	}
	return ".mounts = " + list, nil
}

func mountNoneExpr(fs *pflag.FlagSet, name string) (string, error) {
	if err := mountConflicts(fs); err != nil {
		return "", err
	}
	if b, _ := fs.GetBool(name); !b {
		return "", nil
	}
	return ".mounts = null", nil
}

func mountConflicts(fs *pflag.FlagSet) error {
	var set []string
	for _, n := range []string{"mount", "mount-only", "mount-none"} {
		if fl := fs.Lookup(n); fl != nil && fl.Changed {
			set = append(set, "--"+n)
		}
	}
	if len(set) > 1 {
		return fmt.Errorf("flags %s conflict: use only one of --mount, --mount-only and --mount-none", strings.Join(set, " and "))
	}
	return nil
}

// networkKey identifies a network entry for deduplication: its lima name, its socket, or vzNAT.
const networkKey = `(.lima | select(.) | "lima:" + .) // (.socket | select(.) | "socket:" + .) // (select(.vzNAT) | "vzNAT") // ""`

func networkExpr(fs *pflag.FlagSet, name string) (string, error) {
	vals, err := fs.GetStringSlice(name)
	if err != nil {
		return "", err
	}
	var items []string
	for _, v := range vals {
		switch {
		case v == "vzNAT":
			items = append(items, `{"vzNAT": true}`)
		case strings.HasPrefix(v, "lima:") && len(v) > len("lima:"):
			items = append(items, fmt.Sprintf(`{"lima": %s}`, Quote(strings.TrimPrefix(v, "lima:"))))
		default:
			return "", fmt.Errorf(`--network %q: use "vzNAT" or "lima:NAME" (e.g. lima:shared, lima:bridged, lima:host, lima:user-v2)`, v)
		}
	}
	return fmt.Sprintf(".networks += [%s] | .networks |= unique_by(%s)", strings.Join(items, ", "), networkKey), nil
}

func dnsExpr(fs *pflag.FlagSet, name string) (string, error) {
	ips, err := fs.GetIPSlice(name)
	if err != nil {
		return "", err
	}
	var items []string
	for _, ip := range ips {
		items = append(items, Quote(ip.String()))
	}
	logrus.Warnf("Disabling the host resolver, as custom DNS addresses (%s) are given", strings.Join(items, ", "))
	return fmt.Sprintf(".dns += [%s] | .dns |= unique | .hostResolver.enabled = false", strings.Join(items, ", ")), nil
}

var portRangeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([0-9]+)(?:-([0-9]+))?$`)
})

func parsePorts(s string) (lo, hi int, err error) {
	m := portRangeRE().FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not a port or a port range", s)
	}
	lo, _ = strconv.Atoi(m[1])
	hi = lo
	if m[2] != "" {
		hi, _ = strconv.Atoi(m[2])
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q is not within 1-65535 (or the range is reversed)", s)
	}
	return lo, hi, nil
}

func portForwardExpr(fs *pflag.FlagSet, name string) (string, error) {
	vals, err := fs.GetStringArray(name)
	if err != nil {
		return "", err
	}
	var items []string
	for _, v := range vals {
		bad := func(why string) error {
			return fmt.Errorf("--port-forward %q: %s; use HOST:GUEST with ports or ranges, optionally ',static=true' (e.g. 8080:80 or 9000-9002:9000-9002,static=true)", v, why)
		}
		parts := strings.Split(v, ",")
		static := false
		for _, opt := range parts[1:] {
			k, val, _ := strings.Cut(opt, "=")
			if k != "static" {
				return "", bad(fmt.Sprintf("unknown option %q", opt))
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return "", bad(fmt.Sprintf("static must be true or false, got %q", val))
			}
			static = b
		}
		host, guest, ok := strings.Cut(parts[0], ":")
		if !ok {
			return "", bad("missing ':'")
		}
		hlo, hhi, err := parsePorts(host)
		if err != nil {
			return "", bad("host " + err.Error())
		}
		glo, ghi, err := parsePorts(guest)
		if err != nil {
			return "", bad("guest " + err.Error())
		}
		var item string
		if hlo == hhi && glo == ghi {
			item = fmt.Sprintf(`"guestPort": %d, "hostPort": %d`, glo, hlo)
		} else {
			if hhi-hlo != ghi-glo {
				return "", bad("the host and guest ranges differ in size")
			}
			item = fmt.Sprintf(`"guestPortRange": [%d, %d], "hostPortRange": [%d, %d]`, glo, ghi, hlo, hhi)
		}
		if static {
			item += `, "static": true`
		}
		items = append(items, "{"+item+"}")
	}
	return fmt.Sprintf(".portForwards += [%s]", strings.Join(items, ", ")), nil
}

func sshPortExpr(fs *pflag.FlagSet, name string) (string, error) {
	port, err := fs.GetUint16(name)
	if err != nil {
		return "", err
	}
	if port == 22 {
		return "", fmt.Errorf("--ssh-port 22 is not allowed (it is the guest's own SSH port): pick another port, or 0 for a random one")
	}
	return fmt.Sprintf(".ssh.localPort = %d", port), nil
}

func videoExpr(fs *pflag.FlagSet, name string) (string, error) {
	b, err := fs.GetBool(name)
	if err != nil {
		return "", err
	}
	if b {
		return `.video.display = "default"`, nil
	}
	return `.video.display = "none"`, nil
}

func shellExpr(fs *pflag.FlagSet, name string) (string, error) {
	s := flagString(fs, name)
	if !strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("--shell %q: give the shell's absolute path in the guest, e.g. /bin/zsh", s)
	}
	return ".user.shell = " + Quote(s), nil
}
