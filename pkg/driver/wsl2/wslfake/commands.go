package wslfake

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/limactl/limactl/pkg/driver/wsl2"
)

// The wsl.exe commands the fake knows, one method each.

func (c *call) importDistro(args []string) wsl2.ExitCode {
	if len(args) != 5 || args[3] != "--version" || args[4] != "2" {
		return c.fail("fakewsl: expected --import NAME DIR TAR --version 2, got "+strings.Join(args, " "), "Wsl/E_INVALIDARG")
	}
	name, dir, tarPath := args[0], args[1], args[2]
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if _, ok := c.h.load(name); ok {
		return c.fail("A distribution with the supplied name already exists. Use --unregister to remove it.", "Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS")
	}
	head := make([]byte, 512)
	f, err := os.Open(tarPath)
	if err != nil {
		return c.fail("The system cannot find the file specified.", "Wsl/Service/RegisterDistro/ERROR_FILE_NOT_FOUND")
	}
	n, _ := io.ReadFull(f, head)
	f.Close()
	if !looksLikeArchive(head[:n]) {
		return c.fail("The supplied file is not a root filesystem archive.", "Wsl/Service/RegisterDistro/WSL_E_NOT_A_LINUX_DISTRO")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c.fail(err.Error(), "Wsl/Service/RegisterDistro/ERROR_PATH_NOT_FOUND")
	}
	if err := os.WriteFile(filepath.Join(dir, "ext4.vhdx"), []byte("fake vhdx of "+name+"\n"), 0o600); err != nil {
		return c.fail(err.Error(), "Wsl/Service/RegisterDistro/ERROR_ACCESS_DENIED")
	}
	if err := c.h.save(&distro{Name: name, BasePath: dir, Default: len(c.h.all()) == 0}); err != nil {
		return c.fail(err.Error(), "Wsl/Service/RegisterDistro/ERROR_ACCESS_DENIED")
	}
	return c.ok("Import in progress, this may take a few minutes.\nThe operation completed successfully.")
}

// looksLikeArchive accepts tar (ustar magic) and the compressions wsl.exe --import takes.
func looksLikeArchive(b []byte) bool {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	return has(257, "ustar") || has(0, "\x1f\x8b") || has(0, "\xfd7zXZ\x00") || has(0, "\x28\xb5\x2f\xfd") || has(0, "BZh")
}

func (c *call) list(args []string) wsl2.ExitCode {
	verbose, quiet, running := false, false, false
	for _, a := range args {
		switch a {
		case "--verbose", "-v":
			verbose = true
		case "--quiet", "-q":
			quiet = true
		case "--running":
			running = true
		default:
			return c.fail("Invalid command line argument: "+a, "Wsl/E_INVALIDARG")
		}
	}
	var ds []*distro
	for _, d := range c.h.all() {
		if !running || d.Running {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		if running {
			return c.fail("There are no running distributions.", "Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND")
		}
		return c.fail("Windows Subsystem for Linux has no installed distributions.\n"+
			"You can resolve this by installing a distribution with the instructions below:\n\n"+
			"Use 'wsl.exe --list --online' to list available distributions\n"+
			"and 'wsl.exe --install <Distro>' to install.\n", "Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND")
	}
	var b strings.Builder
	switch {
	case quiet:
		for _, d := range ds {
			b.WriteString(d.Name + "\n")
		}
	case verbose:
		cols := [3]string{"NAME", "STATE", "VERSION"}
		states := [2]string{"Stopped", "Running"}
		if c.h.Locale == "de" {
			cols = [3]string{"NAME", "STATUS", "VERSION"}
			states = [2]string{"Beendet", "Wird ausgeführt"}
		}
		fmt.Fprintf(&b, "  %-24s %-16s %s\n", cols[0], cols[1], cols[2])
		for _, d := range ds {
			mark := " "
			if d.Default {
				mark = "*"
			}
			st := states[0]
			if d.Running {
				st = states[1]
			}
			fmt.Fprintf(&b, "%s %-24s %-16s %d\n", mark, d.Name, st, 2)
		}
	default:
		b.WriteString("Windows Subsystem for Linux Distributions:\n")
		for _, d := range ds {
			if d.Default {
				b.WriteString(d.Name + " (Default)\n")
			} else {
				b.WriteString(d.Name + "\n")
			}
		}
	}
	c.say(c.stdout, b.String())
	return 0
}

func (c *call) terminate(args []string) wsl2.ExitCode {
	if len(args) != 1 {
		return c.fail("fakewsl: expected --terminate NAME", "Wsl/E_INVALIDARG")
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	d, ok := c.h.load(args[0])
	if !ok {
		return c.notFound()
	}
	if err := c.h.setRunning(d.Name, false); err != nil {
		return c.fail(err.Error(), "Wsl/Service/ERROR_ACCESS_DENIED")
	}
	return c.ok("The operation completed successfully.")
}

func (c *call) unregister(args []string) wsl2.ExitCode {
	if len(args) != 1 {
		return c.fail("fakewsl: expected --unregister NAME", "Wsl/E_INVALIDARG")
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	d, ok := c.h.load(args[0])
	if !ok {
		return c.notFound()
	}
	if d.BasePath != "" {
		_ = os.Remove(filepath.Join(d.BasePath, "ext4.vhdx"))
	}
	_ = os.Remove(filepath.Join(c.h.Dir, strings.ToLower(d.Name)+".boot.sh"))
	_ = c.h.setRunning(d.Name, false)
	if err := retry(func() error { return os.Remove(c.h.file(d.Name)) }); err != nil {
		return c.fail(err.Error(), "Wsl/Service/ERROR_ACCESS_DENIED")
	}
	return c.ok("Unregistering.\nThe operation completed successfully.")
}

// inDistro runs `-d NAME [-u USER] [--exec|-e|--] CMD...`: it boots the distro and simulates the
// few commands the driver runs.
func (c *call) inDistro(ctx context.Context, args []string) wsl2.ExitCode {
	if len(args) < 2 {
		return c.fail("fakewsl: expected -d NAME", "Wsl/E_INVALIDARG")
	}
	name := args[1]
	rest := args[2:]
	if len(rest) >= 2 && (rest[0] == "--user" || rest[0] == "-u") {
		rest = rest[2:]
	}
	if len(rest) > 0 && (rest[0] == "--exec" || rest[0] == "-e" || rest[0] == "--") {
		rest = rest[1:]
	}
	c.h.mu.Lock()
	d, ok := c.h.load(name)
	if ok && !d.Running {
		if err := c.h.setRunning(d.Name, true); err != nil {
			c.h.mu.Unlock()
			return c.fail(err.Error(), "Wsl/Service/ERROR_ACCESS_DENIED")
		}
	}
	c.h.mu.Unlock()
	if !ok {
		return c.notFound()
	}
	cmd := strings.Join(rest, " ")
	switch {
	case strings.Contains(cmd, "sleep"):
		return c.keepAlive(ctx, name)
	case len(rest) == 2 && rest[1] == "-s":
		script, _ := io.ReadAll(c.stdin)
		_ = os.WriteFile(filepath.Join(c.h.Dir, strings.ToLower(name)+".boot.sh"), script, 0o600)
		fmt.Fprintf(c.stdout, "fakewsl: %s ran a boot script of %d bytes\n", name, len(script))
		return 0
	case strings.Contains(cmd, "ip -4"):
		sum := fnv.New32a()
		sum.Write([]byte(strings.ToLower(name)))
		v := sum.Sum32()
		fmt.Fprintf(c.stdout, "2: eth0    inet 172.28.%d.%d/20 brd 172.28.15.255 scope global eth0\\       valid_lft forever preferred_lft forever\n",
			v%15, 2+v%250)
		return 0
	}
	return 0
}

func (c *call) keepAlive(ctx context.Context, name string) wsl2.ExitCode {
	interval := c.h.PollInterval
	if interval == 0 {
		interval = 20 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if !c.h.Running(name) {
			// Terminated under it: the real wsl.exe reports the killed process's status.
			return 1
		}
		select {
		case <-ctx.Done():
			return 1
		case <-t.C:
		}
	}
}
