package cidata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestEnsureHostKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := EnsureHostKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, HostKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %o, want 0600", HostKeyFile, st.Mode().Perm())
	}
	signer, err := ssh.ParsePrivateKey(k1.Private)
	if err != nil {
		t.Fatal(err)
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", signer.PublicKey().Type())
	}
	if !strings.HasPrefix(string(k1.Public), "ssh-ed25519 AAAA") || strings.Contains(string(k1.Public), "\n") {
		t.Errorf("public key %q: want one authorized_keys line", k1.Public)
	}
	pubFile, err := os.ReadFile(filepath.Join(dir, HostKeyFile+".pub"))
	if err != nil || strings.TrimSpace(string(pubFile)) != string(k1.Public) {
		t.Errorf("%s.pub = %q, %v; want %q", HostKeyFile, pubFile, err, k1.Public)
	}

	k2, err := EnsureHostKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(k2.Private) != string(k1.Private) || string(k2.Public) != string(k1.Public) {
		t.Error("second EnsureHostKey returned a different key; the key must stay pinned")
	}

	if err := os.WriteFile(filepath.Join(dir, HostKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureHostKey(dir); err == nil {
		t.Error("EnsureHostKey accepted a corrupt key file")
	}
}
