package cidata

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/atomicfile"
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
	if err := atomicfile.WriteFile(privPath+".pub", append(append([]byte(nil), pub...), '\n'), 0o644); err != nil {
		return HostKey{}, err
	}
	if err := atomicfile.WriteFile(privPath, priv, 0o600); err != nil {
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
