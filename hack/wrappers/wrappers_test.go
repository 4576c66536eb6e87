// Package wrappers tests the client wrappers cmd/*.lima (nerdctl.lima, docker.lima, podman.lima,
// kubectl.lima, apptainer.lima) as Lima's behave: each is run by sh with fake limactl, lima and host
// CLIs on a PATH that holds nothing else, and the fakes record their argv and environment.
package wrappers

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// timeout bounds each wrapper run: a wrapper that execs itself would otherwise loop for ever.
const timeout = 20 * time.Second

func command(t *testing.T, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second // a killed run's children may hold its output open
	return cmd
}

var wrappers = []string{"nerdctl.lima", "docker.lima", "podman.lima", "kubectl.lima", "apptainer.lima"}

// fakeLimactl answers `limactl ls|list [-q] [-f|--format FMT] NAME` from $FAKE_INSTANCES
// ("name:Status ..."), with {{.Dir}} as $FAKE_LIMA_HOME/NAME, as limactl does for those queries.
const fakeLimactl = `#!/bin/sh
{ printf 'limactl'; for a in "$@"; do printf ' [%s]' "$a"; done; echo; } >>"$FAKE_LOG"
shift
q= fmt= name=
while [ "$#" -gt 0 ]; do
	case "$1" in
	-q) q=1 ;;
	-f | --format) fmt=$2; shift ;;
	*) name=$1 ;;
	esac
	shift
done
status=
for e in $FAKE_INSTANCES; do
	case "$e" in "$name":*) status=${e#*:} ;; esac
done
if [ -z "$status" ]; then
	echo "no instance matching $name found" >&2
	exit 1
fi
if [ -n "$q" ]; then echo "$name"; exit 0; fi
case "$fmt" in
*Status*) echo "$status" ;;
*) printf '%s\n' "$fmt" | sed "s|{{.Dir}}|$FAKE_LIMA_HOME/$name|" ;;
esac
`

// fakeCLI records its name, the environment variables a wrapper may set, and its argv.
const fakeCLI = `#!/bin/sh
{
	printf '%s' "$(basename -- "$0")"
	for v in LIMA_INSTANCE DOCKER_HOST CONTAINER_HOST KUBECONFIG; do
		eval "val=\${$v-}"
		if [ -n "$val" ]; then printf ' %s=%s' "$v" "$val"; fi
	done
	for a in "$@"; do printf ' [%s]' "$a"; done
	echo
} >>"$FAKE_LOG"
`

type env struct {
	t        *testing.T
	dir      string // the wrappers' directory: a copy of cmd/*.lima, as installed
	fakes    string // fake limactl and lima
	hostCLIs string // fake host CLIs, on PATH only when a case asks
	tools    string // sh and the utilities the wrappers use, linked from the host
	home     string
	log      string
}

func setup(t *testing.T) *env {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the wrappers are POSIX sh scripts")
	}
	root := t.TempDir()
	e := &env{t: t, dir: filepath.Join(root, "bin"), fakes: filepath.Join(root, "fakes"), hostCLIs: filepath.Join(root, "host"),
		tools: filepath.Join(root, "tools"), home: filepath.Join(root, "home"), log: filepath.Join(root, "log")}
	for _, d := range []string{e.dir, e.fakes, e.hostCLIs, e.tools, e.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range wrappers {
		b, err := os.ReadFile(filepath.Join("..", "..", "cmd", w))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(e.dir, w), string(b))
	}
	write(t, filepath.Join(e.fakes, "limactl"), fakeLimactl)
	write(t, filepath.Join(e.fakes, "lima"), fakeCLI)
	for _, c := range []string{"docker", "podman", "kubectl", "mydocker"} {
		write(t, filepath.Join(e.hostCLIs, c), fakeCLI)
	}
	for _, tool := range []string{"sh", "readlink", "dirname", "basename", "sed", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(e.tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	code           int
	calls          []string // the fakes' records, in order, limactl's queries left out
	limactl        []string // limactl's queries
}

// run runs `sh PROG ARGS...` with PATH = fakes (+ host CLIs) + tools, and ENV (NAME=VALUE) added to a
// clean environment.
func (e *env) run(prog string, hostCLIs bool, vars []string, args ...string) result {
	e.t.Helper()
	_ = os.Remove(e.log)
	path := e.fakes
	if hostCLIs {
		path += string(os.PathListSeparator) + e.hostCLIs
	}
	path += string(os.PathListSeparator) + e.tools
	cmd := command(e.t, filepath.Join(e.tools, "sh"), append([]string{prog}, args...)...)
	cmd.Env = append([]string{"PATH=" + path, "HOME=" + e.home, "FAKE_LOG=" + e.log, "FAKE_LIMA_HOME=" + e.home + "/.lima"}, vars...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			e.t.Fatal(err)
		}
		r.code = ee.ExitCode()
	}
	b, err := os.ReadFile(e.log)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, "limactl "):
			r.limactl = append(r.limactl, l)
		default:
			r.calls = append(r.calls, l)
		}
	}
	return r
}

func (e *env) wrapper(name string) string { return filepath.Join(e.dir, name) }

type tc struct {
	name      string
	wrapper   string
	instances string   // FAKE_INSTANCES
	vars      []string // more environment
	hostCLIs  bool
	args      []string
	code      int
	stderr    string // exact
	call      string // the one call of lima or a host CLI; "" for none
}

func TestWrappers(t *testing.T) {
	e := setup(t)
	lh := e.home + "/.lima"
	run := []string{"run", "--rm", "a b", "it's"}
	const runArgs = " [run] [--rm] [a b] [it's]"
	notRunning := func(n string) string {
		return "instance \"" + n + "\" is not running, run `limactl start " + n + "` to start the existing instance\n"
	}
	noInstance := func(n, tmpl string) string {
		return "instance \"" + n + "\" does not exist, run `limactl create --name=" + n + " template://" + tmpl + "` to create a new instance\n"
	}
	cases := []tc{
		// nerdctl.lima: lima nerdctl, on lima's instance (LIMA_INSTANCE passed through, default "default").
		{name: "nerdctl", wrapper: "nerdctl.lima", args: run, call: "lima [nerdctl]" + runArgs},
		{name: "nerdctl/instance", wrapper: "nerdctl.lima", vars: []string{"LIMA_INSTANCE=ctr"}, args: run, call: "lima LIMA_INSTANCE=ctr [nerdctl]" + runArgs},
		{name: "nerdctl/no args", wrapper: "nerdctl.lima", call: "lima [nerdctl]"},

		// docker.lima
		{name: "docker/guest", wrapper: "docker.lima", instances: "docker:Running", args: run, call: "lima LIMA_INSTANCE=docker [docker]" + runArgs},
		{name: "docker/instance", wrapper: "docker.lima", instances: "docker-rootful:Running", vars: []string{"LIMA_INSTANCE=docker-rootful"}, args: run,
			call: "lima LIMA_INSTANCE=docker-rootful [docker]" + runArgs},
		{name: "docker/missing", wrapper: "docker.lima", instances: "default:Running", args: run, code: 1, stderr: noInstance("docker", "docker")},
		{name: "docker/missing other", wrapper: "docker.lima", vars: []string{"LIMA_INSTANCE=d2"}, code: 1, stderr: noInstance("d2", "docker")},
		{name: "docker/stopped", wrapper: "docker.lima", instances: "docker:Stopped", args: run, code: 1, stderr: notRunning("docker")},
		{name: "docker/broken", wrapper: "docker.lima", instances: "docker:Broken", code: 1, stderr: notRunning("docker")},
		{name: "docker/host cli", wrapper: "docker.lima", instances: "docker:Running", hostCLIs: true, args: run,
			call: "docker DOCKER_HOST=unix://" + lh + "/docker/sock/docker.sock" + runArgs},
		{name: "docker/host cli instance", wrapper: "docker.lima", instances: "dk:Running", vars: []string{"LIMA_INSTANCE=dk"}, hostCLIs: true, args: run,
			call: "docker LIMA_INSTANCE=dk DOCKER_HOST=unix://" + lh + "/dk/sock/docker.sock" + runArgs},
		{name: "docker/DOCKER", wrapper: "docker.lima", instances: "docker:Running", vars: []string{"DOCKER=mydocker"}, hostCLIs: true, args: []string{"ps"},
			call: "mydocker DOCKER_HOST=unix://" + lh + "/docker/sock/docker.sock [ps]"},
		{name: "docker/DOCKER missing", wrapper: "docker.lima", instances: "docker:Running", vars: []string{"DOCKER=nodocker"}, hostCLIs: true, args: []string{"ps"},
			call: "lima LIMA_INSTANCE=docker [docker] [ps]"},

		// podman.lima
		{name: "podman/guest", wrapper: "podman.lima", instances: "podman:Running", args: run, call: "lima LIMA_INSTANCE=podman [podman]" + runArgs},
		{name: "podman/instance", wrapper: "podman.lima", instances: "podman-rootful:Running", vars: []string{"LIMA_INSTANCE=podman-rootful"}, args: run,
			call: "lima LIMA_INSTANCE=podman-rootful [podman]" + runArgs},
		{name: "podman/missing", wrapper: "podman.lima", code: 1, stderr: noInstance("podman", "podman")},
		{name: "podman/stopped", wrapper: "podman.lima", instances: "podman:Stopped", code: 1, stderr: notRunning("podman")},
		{name: "podman/host cli", wrapper: "podman.lima", instances: "podman:Running", hostCLIs: true, args: run,
			call: "podman CONTAINER_HOST=unix://" + lh + "/podman/sock/podman.sock [--remote]" + runArgs},
		{name: "podman/PODMAN", wrapper: "podman.lima", instances: "podman:Running", vars: []string{"PODMAN=mydocker"}, hostCLIs: true, args: []string{"ps"},
			call: "mydocker CONTAINER_HOST=unix://" + lh + "/podman/sock/podman.sock [--remote] [ps]"},

		// kubectl.lima: k3s, else k8s, unless LIMA_INSTANCE; `sudo kubectl` in the guest.
		{name: "kubectl/none", wrapper: "kubectl.lima", instances: "default:Running", args: []string{"get", "pods"}, code: 1,
			stderr: "No k3s or k8s existing instances found. Either create one with\nlimactl create --name=k3s template://k3s\n" +
				"limactl create --name=k8s template://k8s\nor set LIMA_INSTANCE to the name of your Kubernetes instance\n"},
		{name: "kubectl/k3s", wrapper: "kubectl.lima", instances: "k3s:Running", args: []string{"get", "pods", "-l", "a b"},
			call: "lima LIMA_INSTANCE=k3s [sudo] [kubectl] [get] [pods] [-l] [a b]"},
		{name: "kubectl/k8s", wrapper: "kubectl.lima", instances: "k8s:Running", args: []string{"get", "pods"}, call: "lima LIMA_INSTANCE=k8s [sudo] [kubectl] [get] [pods]"},
		{name: "kubectl/k3s first", wrapper: "kubectl.lima", instances: "k8s:Running k3s:Running", args: []string{"get"}, call: "lima LIMA_INSTANCE=k3s [sudo] [kubectl] [get]"},
		{name: "kubectl/k3s stopped", wrapper: "kubectl.lima", instances: "k3s:Stopped k8s:Running", code: 1, stderr: notRunning("k3s")},
		{name: "kubectl/instance", wrapper: "kubectl.lima", instances: "k3s:Running kube:Running", vars: []string{"LIMA_INSTANCE=kube"}, args: []string{"get"},
			call: "lima LIMA_INSTANCE=kube [sudo] [kubectl] [get]"},
		{name: "kubectl/instance missing", wrapper: "kubectl.lima", instances: "k3s:Running", vars: []string{"LIMA_INSTANCE=kube"}, code: 1,
			stderr: "instance \"kube\" does not exist, run `limactl create --name=kube` to create a new instance\n"},
		{name: "kubectl/instance stopped", wrapper: "kubectl.lima", instances: "kube:Stopped", vars: []string{"LIMA_INSTANCE=kube"}, code: 1, stderr: notRunning("kube")},
		{name: "kubectl/host cli", wrapper: "kubectl.lima", instances: "k8s:Running", hostCLIs: true, args: []string{"get", "pods"},
			call: "kubectl KUBECONFIG=" + lh + "/k8s/copied-from-guest/kubeconfig.yaml [get] [pods]"},
		{name: "kubectl/KUBECTL", wrapper: "kubectl.lima", instances: "k8s:Running", vars: []string{"KUBECTL=mydocker"}, hostCLIs: true, args: []string{"get"},
			call: "mydocker KUBECONFIG=" + lh + "/k8s/copied-from-guest/kubeconfig.yaml [get]"},

		// apptainer.lima: must exist, need not run; APPTAINER_HOME is the host's $HOME.
		{name: "apptainer", wrapper: "apptainer.lima", instances: "apptainer:Running", args: []string{"run", "a b.sif"},
			call: "lima LIMA_INSTANCE=apptainer [APPTAINER_HOME=" + e.home + "] [apptainer] [run] [a b.sif]"},
		{name: "apptainer/stopped", wrapper: "apptainer.lima", instances: "apptainer:Stopped", args: []string{"version"},
			call: "lima LIMA_INSTANCE=apptainer [APPTAINER_HOME=" + e.home + "] [apptainer] [version]"},
		{name: "apptainer/instance", wrapper: "apptainer.lima", instances: "apptainer-rootful:Running", vars: []string{"LIMA_INSTANCE=apptainer-rootful"},
			call: "lima LIMA_INSTANCE=apptainer-rootful [APPTAINER_HOME=" + e.home + "] [apptainer]"},
		{name: "apptainer/missing", wrapper: "apptainer.lima", code: 1,
			stderr: "instance \"apptainer\" does not exist, run `limactl start --name=apptainer template://apptainer` to create a new instance\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			vars := append([]string{"FAKE_INSTANCES=" + c.instances}, c.vars...)
			r := e.run(e.wrapper(c.wrapper), c.hostCLIs, vars, c.args...)
			check(t, r, c.code, c.stderr, c.call)
		})
	}
}

func check(t *testing.T, r result, code int, stderr, call string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if r.stderr != stderr {
		t.Errorf("stderr %q, want %q", r.stderr, stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want none", r.stdout)
	}
	var want []string
	if call != "" {
		want = []string{call}
	}
	if strings.Join(r.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(r.calls, "\n"), strings.Join(want, "\n"))
	}
}

// TestInstalledAsCLI: a wrapper installed under the CLI's own name (`docker` linked to docker.lima,
// and so on) and found first on PATH runs the command in the guest rather than itself.
func TestInstalledAsCLI(t *testing.T) {
	e := setup(t)
	for _, c := range []struct{ wrapper, cli, instance, call string }{
		{"docker.lima", "docker", "docker", "lima LIMA_INSTANCE=docker [docker] [ps] [a b]"},
		{"podman.lima", "podman", "podman", "lima LIMA_INSTANCE=podman [podman] [ps] [a b]"},
		{"kubectl.lima", "kubectl", "k3s", "lima LIMA_INSTANCE=k3s [sudo] [kubectl] [ps] [a b]"},
	} {
		t.Run(c.cli, func(t *testing.T) {
			e.t = t
			link := filepath.Join(e.dir, c.cli)
			if err := os.Symlink(c.wrapper, link); err != nil {
				t.Fatal(err)
			}
			// The wrapper's directory first on PATH, then the host CLIs: `docker` is the wrapper.
			path := e.dir + string(os.PathListSeparator) + e.fakes + string(os.PathListSeparator) + e.hostCLIs + string(os.PathListSeparator) + e.tools
			_ = os.Remove(e.log)
			cmd := command(t, filepath.Join(e.tools, "sh"), "-c", c.cli+` ps "a b"`)
			cmd.Env = []string{"PATH=" + path, "HOME=" + e.home, "FAKE_LOG=" + e.log, "FAKE_LIMA_HOME=" + e.home + "/.lima", "FAKE_INSTANCES=" + c.instance + ":Running"}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			b, err := os.ReadFile(e.log)
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if !strings.HasPrefix(l, "limactl ") {
					calls = append(calls, l)
				}
			}
			if len(calls) != 1 || calls[0] != c.call {
				t.Errorf("calls %q, want [%q]", calls, c.call)
			}
		})
	}
}

// TestLimactlQueries: the wrappers ask limactl exactly what Lima's ask (`ls -q NAME`, then
// `ls -f '{{ .Status }}' NAME`), and $LIMACTL names the limactl they ask.
func TestLimactlQueries(t *testing.T) {
	e := setup(t)
	r := e.run(e.wrapper("docker.lima"), true, []string{"FAKE_INSTANCES=docker:Running"}, "ps")
	want := []string{
		"limactl [ls] [-q] [docker]",
		"limactl [ls] [-f] [{{ .Status }}] [docker]",
		"limactl [list] [docker] [--format] [unix://{{.Dir}}/sock/docker.sock]",
	}
	if strings.Join(r.limactl, "\n") != strings.Join(want, "\n") {
		t.Errorf("limactl queries:\n%s\nwant:\n%s", strings.Join(r.limactl, "\n"), strings.Join(want, "\n"))
	}
	// LIMACTL: a limactl off PATH.
	other := filepath.Join(t.TempDir(), "my-limactl")
	write(t, other, fakeLimactl)
	if err := os.Remove(filepath.Join(e.fakes, "limactl")); err != nil {
		t.Fatal(err)
	}
	r = e.run(e.wrapper("podman.lima"), false, []string{"FAKE_INSTANCES=podman:Running", "LIMACTL=" + other}, "ps")
	check(t, r, 0, "", "lima LIMA_INSTANCE=podman [podman] [ps]")
	if len(r.limactl) != 2 {
		t.Errorf("limactl queries %q, want 2", r.limactl)
	}
}

// TestFiles: every wrapper is executable in the checkout, and shellcheck-clean when shellcheck is
// installed.
func TestFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the wrappers are POSIX sh scripts")
	}
	var paths []string
	for _, w := range wrappers {
		p := filepath.Join("..", "..", "cmd", w)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o111 != 0o111 {
			t.Errorf("%s: mode %v, want executable", w, fi.Mode().Perm())
		}
		paths = append(paths, p)
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed")
	}
	out, err := exec.Command(sc, append([]string{"-s", "sh"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
