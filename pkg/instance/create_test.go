package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

func TestCreate(t *testing.T) {
	limaHome := setLimaHome(t)
	inst := mustCreate(t, "foo")
	if inst.Status != store.StatusStopped || inst.Dir != filepath.Join(limaHome, "foo") || inst.CPUs != 2 {
		t.Fatalf("unexpected instance: %+v", inst)
	}
	st, err := os.Stat(inst.Dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("instance dir mode = %v, %v; want 0700", st.Mode(), err)
	}
	st, err = os.Stat(filepath.Join(inst.Dir, filenames.LimaVersion))
	if err != nil || st.Mode().Perm() != 0o444 {
		t.Fatalf("lima-version mode = %v, %v; want 0444", st.Mode(), err)
	}
	got, _ := os.ReadFile(filepath.Join(inst.Dir, filenames.LimaYAML))
	if string(got) != string(minimalYAML(t)) {
		t.Fatalf("lima.yaml is not the template as given:\n%s", got)
	}
	if _, err := Create(context.Background(), "foo", minimalYAML(t), false); !errors.Is(err, ErrExist) {
		t.Fatalf("second create: got %v, want ErrExist", err)
	}
}

func TestCreateRejectsBadNames(t *testing.T) {
	setLimaHome(t)
	for _, name := range []string{"", "-x", "a..b", "foo.yaml", strings.Repeat("a", 77), "_config", ".hidden"} {
		if _, err := Create(context.Background(), name, minimalYAML(t), false); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
}

func TestCreateSocketPathLimit(t *testing.T) {
	// A LIMA_HOME deep enough that a 20-character name crosses the Unix socket path limit.
	base := t.TempDir()
	deep := filepath.Join(base, strings.Repeat("d", max(1, UnixPathMax()-len(base)-40)))
	t.Setenv("LIMA_HOME", deep)
	_, err := Create(context.Background(), strings.Repeat("n", 20), minimalYAML(t), false)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(UnixPathMax())) || !strings.Contains(err.Error(), "shorter") {
		t.Fatalf("got %v; want an error naming the limit %d and suggesting a shorter name", err, UnixPathMax())
	}
}

func TestCreateInvalidLeavesNothing(t *testing.T) {
	limaHome := setLimaHome(t)
	bad := []byte("cpus: 2\n") // no images
	if _, err := Create(context.Background(), "bad", bad, false); err == nil {
		t.Fatal("Create with no images succeeded")
	}
	if _, err := os.Stat(filepath.Join(limaHome, "bad")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("instance dir exists after a failed create: %v", err)
	}
	if l := leftovers(t, limaHome); len(l) != 0 {
		t.Fatalf("temporary dirs left behind: %v", l)
	}

	t.Chdir(t.TempDir())
	_, err := Create(context.Background(), "bad", bad, true)
	if err == nil || !strings.Contains(err.Error(), filenames.RejectedYAML) {
		t.Fatalf("got %v; want an error naming %s", err, filenames.RejectedYAML)
	}
	if got, _ := os.ReadFile(filenames.RejectedYAML); string(got) != string(bad) {
		t.Fatalf("%s = %q", filenames.RejectedYAML, got)
	}
}

func TestCreateConcurrentGoroutines(t *testing.T) {
	limaHome := setLimaHome(t)
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = Create(context.Background(), "race", minimalYAML(t), false)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrExist):
			t.Errorf("loser got %v, want ErrExist", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creates won, want exactly 1", wins)
	}
	if l := leftovers(t, limaHome); len(l) != 0 {
		t.Fatalf("temporary dirs left behind: %v", l)
	}
	if names, _ := store.Instances(); len(names) != 1 {
		t.Fatalf("instances = %v", names)
	}
}

// TestMain lets the test binary act as a `create` process for TestCreateConcurrentProcesses.
func TestMain(m *testing.M) {
	if name := os.Getenv("INSTANCE_TEST_CREATE"); name != "" {
		os.Exit(childCreate(name))
	}
	os.Exit(m.Run())
}

// childCreate waits until its stdin is closed (the parent's starting gun), then creates name.
// Exit codes: 0 created, 3 already exists, 1 anything else.
func childCreate(name string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	b, err := os.ReadFile(filepath.Join("testdata", "minimal.yaml"))
	if err == nil {
		_, err = Create(context.Background(), name, b, false)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrExist):
		return 3
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
}

func TestCreateConcurrentProcesses(t *testing.T) {
	limaHome := setLimaHome(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	cmds := make([]*exec.Cmd, n)
	guns := make([]io.WriteCloser, n)
	for i := range n {
		cmds[i] = exec.Command(self)
		cmds[i].Env = append(os.Environ(), "INSTANCE_TEST_CREATE=proc")
		cmds[i].Stderr = os.Stderr
		if guns[i], err = cmds[i].StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range guns {
		g.Close()
	}
	codes := map[int]int{}
	for _, c := range cmds {
		_ = c.Wait()
		codes[c.ProcessState.ExitCode()]++
	}
	if codes[0] != 1 || codes[3] != n-1 {
		t.Fatalf("exit codes %v: want one 0 (created) and %d of 3 (already exists)", codes, n-1)
	}
	if l := leftovers(t, limaHome); len(l) != 0 {
		t.Fatalf("temporary dirs left behind: %v", l)
	}
	inst, err := store.Inspect(context.Background(), "proc")
	if err != nil || inst.Status != store.StatusStopped {
		t.Fatalf("Inspect after the race: %+v, %v", inst, err)
	}
}
