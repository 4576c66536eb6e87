package cidata

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HostKeyFile is the instance's SSH host key (OpenSSH private key format, 0600); HostKeyFile+".pub"
// holds its public half in authorized_keys format.
const HostKeyFile = "ssh_host_ed25519_key"

// HostKey is an ed25519 SSH host key: Private in OpenSSH PEM form, Public as one authorized_keys line
// ("ssh-ed25519 AAAA...", no newline).
type HostKey struct {
	Private []byte
	Public  []byte
}

// GenerateHostKey makes a new ed25519 host key.
func GenerateHostKey() (priv, pub []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(sk, "limactl host key")
	if err != nil {
		return nil, nil, fmt.Errorf("encode host key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pk)
	if err != nil {
		return nil, nil, fmt.Errorf("encode host public key: %w", err)
	}
	return pem.EncodeToMemory(block), []byte(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))), nil
}

// EnsureHostKey returns the host key stored in instDir, generating and storing one (HostKeyFile,
// 0600, and HostKeyFile.pub) the first time. The key is pinned: every boot installs the same key.
func EnsureHostKey(instDir string) (HostKey, error) {
	privPath := filepath.Join(instDir, HostKeyFile)
	priv, err := os.ReadFile(privPath)
	if err == nil {
		return hostKeyFromPrivate(priv, privPath)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return HostKey{}, fmt.Errorf("read host key: %w", err)
	}
	priv, pub, err := GenerateHostKey()
	if err != nil {
		return HostKey{}, err
	}
	if err := writeFileAtomic(privPath+".pub", append(append([]byte(nil), pub...), '\n'), 0o644); err != nil {
		return HostKey{}, err
	}
	if err := writeFileAtomic(privPath, priv, 0o600); err != nil {
		return HostKey{}, err
	}
	return HostKey{Private: priv, Public: pub}, nil
}

func hostKeyFromPrivate(priv []byte, path string) (HostKey, error) {
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		return HostKey{}, fmt.Errorf("parse host key %s: %w; delete it to have a new one generated", path, err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	return HostKey{Private: priv, Public: []byte(pub)}, nil
}

// writeFileAtomic writes through a temporary file in the same directory and renames it into place.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return writeAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic has fill write a temporary file in path's directory, then renames it to path, so
// readers see the old file or the whole new one.
func writeAtomic(path string, perm fs.FileMode, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
