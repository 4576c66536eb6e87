package sshutil

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// UserKeyComment is the comment of the generated user key, as `ssh-keygen -C lima` would write it.
const UserKeyComment = "lima"

// UserPrivateKeyPath returns $LIMA_HOME/_config/user.
func UserPrivateKeyPath() (string, error) {
	dir, err := dirnames.LimaConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filenames.UserPrivateKey), nil
}

// UserSigner returns the signer for $LIMA_HOME/_config/user, creating the key pair on first use.
func UserSigner() (ssh.Signer, error) {
	dir, err := dirnames.LimaConfigDir()
	if err != nil {
		return nil, err
	}
	return EnsureUserKey(dir)
}

// EnsureUserKey loads the key pair "user" and "user.pub" in configDir, creating it when missing.
//
// Creation is safe when several processes do it at once: each writes a complete private key to a
// temporary file and hard-links it to "user", which only one of them can win; the losers load the
// winner's key. "user.pub" is always derived from the private key and (re)written by rename, so
// every writer writes the same bytes. The private key is in the OpenSSH format, mode 0600.
func EnsureUserKey(configDir string) (ssh.Signer, error) {
	privPath := filepath.Join(configDir, filenames.UserPrivateKey)
	signer, err := readPrivateKey(privPath)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(configDir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create %q for the SSH user key: %w", configDir, err)
		}
		if err := createPrivateKey(privPath); err != nil {
			return nil, err
		}
		signer, err = readPrivateKey(privPath)
	}
	if err != nil {
		return nil, err
	}
	if err := ensurePublicKeyFile(filepath.Join(configDir, filenames.UserPublicKey), signer.PublicKey()); err != nil {
		return nil, err
	}
	return signer, nil
}

func readPrivateKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the SSH user key %q (remove it and its .pub to get a new one): %w", path, err)
	}
	return signer, nil
}

func createPrivateKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, UserKeyComment)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".user-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create the SSH user key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && !isWindows() {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Link fails if another process created the key first; then its key is the one we use.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cannot create the SSH user key %q: %w", path, err)
	}
	// The key was fsynced above; this makes its name survive a power loss too.
	return atomicfile.SyncDir(filepath.Dir(path))
}

func ensurePublicKeyFile(path string, pub ssh.PublicKey) error {
	want := authorizedKeyLine(pub, UserKeyComment)
	if have, err := os.ReadFile(path); err == nil {
		if k, _, _, _, perr := ssh.ParseAuthorizedKey(have); perr == nil && bytes.Equal(k.Marshal(), pub.Marshal()) {
			return nil
		}
		logrus.Warnf("%s does not match its private key; rewriting it", path)
	}
	return atomicfile.WriteFile(path, []byte(want), 0o644)
}

func authorizedKeyLine(pub ssh.PublicKey, comment string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line + "\n"
}

// PubKey is one public key to authorize in the guest.
type PubKey struct {
	Filename string // where it was read from
	Content  string // one authorized_keys line, without the trailing newline
}

// DefaultPubKeys returns the keys to authorize in the guest: the user key (created if needed) and,
// when loadDotSSH is set (ssh.loadDotSSHPubKeys), every parsable ~/.ssh/*.pub in name order.
func DefaultPubKeys(loadDotSSH bool) ([]PubKey, error) {
	dir, err := dirnames.LimaConfigDir()
	if err != nil {
		return nil, err
	}
	signer, err := EnsureUserKey(dir)
	if err != nil {
		return nil, err
	}
	res := []PubKey{{
		Filename: filepath.Join(dir, filenames.UserPublicKey),
		Content:  strings.TrimSpace(authorizedKeyLine(signer.PublicKey(), UserKeyComment)),
	}}
	if !loadDotSSH {
		return res, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("ssh.loadDotSSHPubKeys needs the home directory: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(home, ".ssh", "*.pub"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			logrus.WithError(err).Warnf("skipping %s", f)
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey(data); err != nil {
			logrus.WithError(err).Warnf("skipping %s: not a public key", f)
			continue
		}
		res = append(res, PubKey{Filename: f, Content: strings.TrimSpace(string(data))})
	}
	return res, nil
}

// LoadSigner reads an unencrypted private key file (any type OpenSSH writes).
func LoadSigner(path string) (ssh.Signer, error) { return readPrivateKey(path) }
