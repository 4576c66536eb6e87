package copytool

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

// guests starts one fake guest per name and returns a Dialer for them.
func guests(t *testing.T, names ...string) (map[string]*sshtest.Server, Dialer) {
	t.Helper()
	servers := map[string]*sshtest.Server{}
	instDir := t.TempDir()
	for _, n := range names {
		s := sshtest.Start(t, sshtest.Options{})
		servers[n] = s
		s.WriteKnownHosts(t, filepath.Join(instDir, n+".known_hosts"), sshutil.HostKeyAlias(n))
	}
	dial := func(ctx context.Context, name string) (*ssh.Client, error) {
		s, ok := servers[name]
		if !ok {
			return nil, fmt.Errorf("instance %q does not exist", name)
		}
		return sshutil.Dial(ctx, sshutil.DialOptions{
			Port: s.Port, User: "tester", Signer: s.ClientSigner,
			KnownHostsFile: filepath.Join(instDir, name+".known_hosts"), HostKeyAlias: sshutil.HostKeyAlias(name),
		})
	}
	return servers, dial
}

var mtime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// writeTree creates files (path -> content) under root, each with mode 0640 and a fixed mtime,
// except paths ending in ".sh" which get 0755; "d/" entries are directories with mode 0750.
func writeTree(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(f, "/")))
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o750); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := fs.FileMode(0o640)
		if strings.HasSuffix(f, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte("content of "+f), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// listTree describes every entry under root as "path mode [content]" for comparison.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var res []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", filepath.ToSlash(rel), info.Mode())
		if !d.IsDir() {
			data, _ := os.ReadFile(p)
			line += " " + string(data)
			if !info.ModTime().Equal(mtime) {
				line += " mtime=" + info.ModTime().String()
			}
		}
		res = append(res, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(res)
	return res
}

func TestCopyHostToGuestAndBack(t *testing.T) {
	servers, dial := guests(t, "vm")
	vm := servers["vm"]
	host := t.TempDir()
	writeTree(t, host, "a.txt", "run.sh", "tree/x.txt", "tree/sub/y.sh", "tree/empty/")
	ctx := context.Background()
	loc := func(s string) Location { l, _ := ParseArg(s); return l }

	// A file to a new name, then into an existing guest directory; ~ is the guest home.
	if err := Copy(ctx, []Location{loc(filepath.Join(host, "a.txt"))}, loc("vm:copied.txt"), dial, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(vm.Home, "dest"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Copy(ctx, []Location{loc(filepath.Join(host, "run.sh")), loc(filepath.Join(host, "a.txt"))}, loc("vm:~/dest"), dial, Options{}); err != nil {
		t.Fatal(err)
	}
	// A tree, recursively, to a new guest directory.
	var verbose bytes.Buffer
	if err := Copy(ctx, []Location{loc(filepath.Join(host, "tree"))}, loc("vm:"+filepath.Join(vm.Home, "tree2")), dial,
		Options{Recursive: true, Verbose: true, Out: &verbose}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"copied.txt -rw-r----- content of a.txt",
		"dest drwxr-xr-x",
		"dest/a.txt -rw-r----- content of a.txt",
		"dest/run.sh -rwxr-xr-x content of run.sh",
		"tree2 drwxr-xr-x",
		"tree2/empty drwxr-x---",
		"tree2/sub drwxr-xr-x",
		"tree2/sub/y.sh -rwxr-xr-x content of tree/sub/y.sh",
		"tree2/x.txt -rw-r----- content of tree/x.txt",
	}
	if d := cmp.Diff(want, listTree(t, vm.Home)); d != "" {
		t.Errorf("guest tree (-want +got):\n%s", d)
	}
	if !strings.Contains(verbose.String(), filepath.Join(host, "tree", "x.txt")+" -> vm:"+filepath.Join(vm.Home, "tree2", "x.txt")) {
		t.Errorf("verbose output does not list x.txt:\n%s", verbose.String())
	}

	// Back to the host: into an existing directory the tree keeps its name.
	back := t.TempDir()
	if err := Copy(ctx, []Location{loc("vm:tree2"), loc("vm:copied.txt")}, loc(back), dial, Options{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"copied.txt -rw-r----- content of a.txt",
		"tree2 drwxr-xr-x",
		"tree2/empty drwxr-x---",
		"tree2/sub drwxr-xr-x",
		"tree2/sub/y.sh -rwxr-xr-x content of tree/sub/y.sh",
		"tree2/x.txt -rw-r----- content of tree/x.txt",
	}
	if d := cmp.Diff(want, listTree(t, back)); d != "" {
		t.Errorf("host tree (-want +got):\n%s", d)
	}
	info, err := os.Stat(filepath.Join(back, "tree2"))
	// SFTP (version 3) carries times in whole seconds.
	if err != nil || !info.ModTime().Equal(mustStat(t, filepath.Join(host, "tree")).ModTime().Truncate(time.Second)) {
		t.Errorf("directory mtime not kept: %v, %v", info.ModTime(), err)
	}
}

func mustStat(t *testing.T, p string) fs.FileInfo {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestCopyGuestToGuest(t *testing.T) {
	servers, dial := guests(t, "one", "two")
	writeTree(t, servers["one"].Home, "data/big.bin", "data/n/x.sh")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: several SFTP packets
	if err := os.WriteFile(filepath.Join(servers["one"].Home, "data", "big.bin"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Copy(context.Background(), []Location{{Instance: "one", Path: "data"}}, Location{Instance: "two", Path: "copy"}, dial,
		Options{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(servers["two"].Home, "copy", "big.bin"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("big.bin differs after guest-to-guest copy (err %v)", err)
	}
	if m := mustStat(t, filepath.Join(servers["two"].Home, "copy", "n", "x.sh")).Mode(); m.Perm() != 0o755 {
		t.Errorf("x.sh mode = %v", m)
	}
}

func TestCopyErrors(t *testing.T) {
	servers, dial := guests(t, "vm")
	writeTree(t, servers["vm"].Home, "dir/f.txt", "file.txt")
	host := t.TempDir()
	ctx := context.Background()
	tests := []struct {
		name string
		srcs []Location
		dst  Location
		o    Options
		want string
	}{
		{"missing source", []Location{{Instance: "vm", Path: "nope.txt"}}, Location{Path: host}, Options{}, "vm:nope.txt"},
		{"directory without -r", []Location{{Instance: "vm", Path: "dir"}}, Location{Path: host}, Options{}, "use -r"},
		{"several sources to a file", []Location{{Instance: "vm", Path: "file.txt"}, {Instance: "vm", Path: "dir/f.txt"}},
			Location{Path: filepath.Join(host, "new")}, Options{}, "must be an existing directory"},
		{"unknown instance", []Location{{Instance: "ghost", Path: "x"}}, Location{Path: host}, Options{}, `instance "ghost" does not exist`},
		{"unwritable target", []Location{{Instance: "vm", Path: "file.txt"}}, Location{Path: filepath.Join(host, "no", "such", "dir", "f")}, Options{},
			"cannot write " + filepath.Join(host, "no", "such", "dir", "f")},
		{"onto itself", []Location{{Instance: "vm", Path: "file.txt"}}, Location{Instance: "vm", Path: "file.txt"}, Options{}, "onto itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Copy(ctx, tt.srcs, tt.dst, dial, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Copy error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
