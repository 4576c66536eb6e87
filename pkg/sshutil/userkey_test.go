package sshutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// helperEnv makes the test binary act as one `limactl` process creating the user key.
const helperEnv = "SSHUTIL_TEST_ENSURE_USER_KEY"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		s, err := EnsureUserKey(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(ssh.FingerprintSHA256(s.PublicKey()))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestEnsureUserKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "_config")
	s1, err := EnsureUserKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(filepath.Join(dir, "user"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(priv, []byte("-----BEGIN OPENSSH PRIVATE KEY-----")) {
		t.Errorf("private key is not in the OpenSSH format:\n%s", priv)
	}
	if s1.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type = %s, want ed25519", s1.PublicKey().Type())
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(filepath.Join(dir, "user"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("user mode = %v, want 0600", st.Mode().Perm())
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	if err != nil {
		t.Fatal(err)
	}
	k, comment, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if comment != "lima" || !bytes.Equal(k.Marshal(), s1.PublicKey().Marshal()) {
		t.Errorf("user.pub = %q, want the private key's public half with comment lima", pub)
	}

	// A second call loads the same key; a lost user.pub is written again.
	if err := os.Remove(filepath.Join(dir, "user.pub")); err != nil {
		t.Fatal(err)
	}
	s2, err := EnsureUserKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1.PublicKey().Marshal(), s2.PublicKey().Marshal()) {
		t.Error("second EnsureUserKey made a new key")
	}
	if pub2, _ := os.ReadFile(filepath.Join(dir, "user.pub")); !bytes.Equal(pub, pub2) {
		t.Errorf("rewritten user.pub = %q, want %q", pub2, pub)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	// OpenSSH reads the key when it is installed.
	if keygen, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command(keygen, "-y", "-f", filepath.Join(dir, "user")).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
		}
		got, _, _, _, err := ssh.ParseAuthorizedKey(out)
		if err != nil || !bytes.Equal(got.Marshal(), s1.PublicKey().Marshal()) {
			t.Errorf("ssh-keygen -y printed %q, want the same public key", out)
		}
	}
}

// TestEnsureUserKeyConcurrentProcesses runs several processes creating the key at once: all of
// them must end up using one key pair.
func TestEnsureUserKeyConcurrentProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "_config")
	const n = 6
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+dir)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		if outs[i] != outs[0] {
			t.Errorf("process %d used key %s, process 0 used %s", i, outs[i], outs[0])
		}
	}
	s, err := EnsureUserKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fp := ssh.FingerprintSHA256(s.PublicKey()); fp != outs[0] {
		t.Errorf("key on disk %s, processes used %s", fp, outs[0])
	}
}

func TestDefaultPubKeys(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LIMA_HOME", filepath.Join(home, ".lima"))
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	other := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKrQwQfFFHp0zpVdd9SS2G7nW5+aq5+6sKMm2YpTPiQ8 me@host"
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(other+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "junk.pub"), []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := DefaultPubKeys(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasSuffix(keys[0].Content, " lima") || !strings.HasPrefix(keys[0].Content, "ssh-ed25519 ") {
		t.Fatalf("DefaultPubKeys(false) = %+v, want only the lima key", keys)
	}
	keys, err = DefaultPubKeys(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[1].Content != other {
		t.Fatalf("DefaultPubKeys(true) = %+v, want the lima key and id_ed25519.pub", keys)
	}
}
