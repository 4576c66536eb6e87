// Package wslfake simulates wsl.exe for tests: distros imported, running and terminated, kept as
// files in a state directory so that several processes (the fake wsl.exe program under wine, one
// per invocation) share them. It writes its own messages in UTF-16LE without a BOM, as wsl.exe
// does, and ignores WSL_UTF8=1 unless HonourUTF8 is set (old inbox WSL ignores it too).
//
// It models what the wsl2 driver relies on and nothing more; it says nothing about how a real
// WSL2 behaves beyond that model. It refuses `--shutdown` loudly, because the driver must never
// stop the user's other distros.
package wslfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/limactl/limactl/pkg/driver/wsl2"
)

// ExitFailure is wsl.exe's exit status on errors (-1 as a Windows DWORD).
const ExitFailure wsl2.ExitCode = 0xFFFFFFFF

// ExitShutdown is the fake's exit status for the forbidden `--shutdown`.
const ExitShutdown wsl2.ExitCode = 99

// Host is one simulated Windows user's WSL.
type Host struct {
	// Dir holds the state: one JSON file per distro, calls.log, and NAME.boot.sh (the last boot
	// script a distro received on stdin).
	Dir string
	// HonourUTF8 makes WSL_UTF8=1 switch the messages to UTF-8, as WSL 0.64 and later do.
	HonourUTF8 bool
	// Locale "de" prints the `--list --verbose` header and states in German.
	Locale string
	// PollInterval is how often a keep-alive process checks whether its distro was terminated;
	// zero means 20 ms.
	PollInterval time.Duration

	mu sync.Mutex
}

// distro is a registered distro: NAME.json, written once by the import, plus the marker file
// NAME.running while it runs. The marker keeps the frequent state changes away from the JSON file,
// which on Windows cannot be replaced while another fake process has it open.
type distro struct {
	Name     string `json:"name"`
	BasePath string `json:"basePath"`
	Default  bool   `json:"default"`
	Running  bool   `json:"-"`
}

func (h *Host) file(name string) string {
	return filepath.Join(h.Dir, strings.ToLower(name)+".json")
}

func (h *Host) marker(name string) string {
	return filepath.Join(h.Dir, strings.ToLower(name)+".running")
}

func (h *Host) load(name string) (*distro, bool) {
	b, err := os.ReadFile(h.file(name))
	if err != nil {
		return nil, false
	}
	var d distro
	if json.Unmarshal(b, &d) != nil {
		return nil, false
	}
	_, err = os.Stat(h.marker(name))
	d.Running = err == nil
	return &d, true
}

// save writes a new distro's file and its running marker.
func (h *Host) save(d *distro) error {
	b, _ := json.Marshal(d)
	tmp := h.file(d.Name) + fmt.Sprintf(".%d.tmp", os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := retry(func() error { return os.Rename(tmp, h.file(d.Name)) }); err != nil {
		return err
	}
	return h.setRunning(d.Name, d.Running)
}

func (h *Host) setRunning(name string, running bool) error {
	if running {
		return os.WriteFile(h.marker(name), nil, 0o600)
	}
	if err := retry(func() error { return os.Remove(h.marker(name)) }); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// retry repeats a rename or remove that Windows refuses while another process has the file open.
func retry(f func() error) error {
	var err error
	for range 100 {
		if err = f(); err == nil || os.IsNotExist(err) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

func (h *Host) all() []*distro {
	entries, _ := os.ReadDir(h.Dir)
	var out []*distro
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			if d, ok := h.load(n); ok {
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AddDistro registers a distro directly, for tests that check the driver leaves others alone.
func (h *Host) AddDistro(name string, running bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return err
	}
	return h.save(&distro{Name: name, Running: running, Default: len(h.all()) == 0})
}

// Running reports whether distro name is registered and running.
func (h *Host) Running(name string) bool {
	_, err := os.Stat(h.marker(name))
	return err == nil
}

// Calls returns the logged invocations, one argument list per line.
func (h *Host) Calls() []string {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "calls.log"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (h *Host) logCall(args []string) {
	f, err := os.OpenFile(filepath.Join(h.Dir, "calls.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(strings.Join(args, " ") + "\n")
}

// call is one invocation in progress.
type call struct {
	h              *Host
	env            []string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// say writes one of wsl.exe's own messages.
func (c *call) say(w io.Writer, text string) {
	utf8 := false
	if c.h.HonourUTF8 {
		for _, e := range c.env {
			if e == wsl2.UTF8Env {
				utf8 = true
			}
		}
	}
	if utf8 {
		_, _ = io.WriteString(w, strings.ReplaceAll(text, "\n", "\r\n"))
		return
	}
	_, _ = w.Write(wsl2.EncodeUTF16LE(text))
}

func (c *call) fail(text, code string) wsl2.ExitCode {
	c.say(c.stdout, text+"\nError code: "+code+"\n")
	return ExitFailure
}

func (c *call) ok(text string) wsl2.ExitCode {
	if text != "" {
		c.say(c.stdout, text+"\n")
	}
	return 0
}

func (c *call) notFound() wsl2.ExitCode {
	return c.fail("There is no distribution with the supplied name.", "Wsl/Service/WSL_E_DISTRO_NOT_FOUND")
}

// Exec runs one wsl.exe invocation: args after wsl.exe, env as KEY=VALUE (only WSL_UTF8 matters).
// It blocks for keep-alive commands until the distro is terminated or ctx is done.
func (h *Host) Exec(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) wsl2.ExitCode {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "fakewsl: %v\n", err)
		return ExitFailure
	}
	h.logCall(args)
	c := &call{h: h, env: env, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return c.fail("fakewsl: no default distribution is simulated", "Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND")
	}
	switch args[0] {
	case "--shutdown":
		fmt.Fprintln(stderr, "fakewsl: --shutdown stops every distro of the user and the WSL VM; limactl must never run it")
		return ExitShutdown
	case "--import":
		return c.importDistro(args[1:])
	case "--list", "-l":
		return c.list(args[1:])
	case "--terminate", "-t":
		return c.terminate(args[1:])
	case "--unregister":
		return c.unregister(args[1:])
	case "--distribution", "-d":
		return c.inDistro(ctx, args)
	}
	return c.fail("Invalid command line argument: "+args[0], "Wsl/E_INVALIDARG")
}
