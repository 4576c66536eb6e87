package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Version is written to lima-version when an instance is created. cmd/limactl sets it.
var Version = "2.2.0-dev"

// ErrExist is wrapped by Create, Clone and Rename when the target instance already exists.
var ErrExist = errors.New("instance already exists")

// Create makes the instance NAME from tmplBytes (a template with its base: chain already embedded
// and the edit flags applied). It checks the name, loads and validates the config, then builds the
// instance directory aside as $LIMA_HOME/.tmp-NAME-* (locked while it is built) and renames it
// into place. The rename is the
// commit point: of two concurrent creates of one name exactly one wins, the other gets ErrExist,
// and a failure leaves nothing behind. lima.yaml holds tmplBytes as given (defaults not filled in).
//
// With saveBrokenYAML, a config that fails validation is saved as lima.REJECTED.yaml in the
// current directory so the user's edits are not lost; the error names the file.
func Create(ctx context.Context, name string, tmplBytes []byte, saveBrokenYAML bool) (*store.Instance, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	instDir, err := dirnames.InstanceDir(name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(instDir); err == nil {
		return nil, existErr(name, instDir)
	}
	if err := validateConfig(tmplBytes, filepath.Join(instDir, filenames.LimaYAML), saveBrokenYAML); err != nil {
		return nil, err
	}
	limaDir := filepath.Dir(instDir)
	if err := os.MkdirAll(limaDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create LIMA_HOME %s: %w", limaDir, err)
	}
	tmpDir, release, err := makeTmpDir(limaDir, name+"-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory in LIMA_HOME %s: %w", limaDir, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.RemoveAll(tmpDir)
			release()
		}
	}()
	// Both files reach the disk before the rename below publishes the directory.
	if err := atomicfile.WriteFile(filepath.Join(tmpDir, filenames.LimaYAML), tmplBytes, 0o644); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(tmpDir, filenames.LimaVersion), []byte(Version+"\n"), 0o444); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := renameNoReplace(tmpDir, instDir); err != nil {
		if isExist(err) {
			return nil, existErr(name, instDir)
		}
		return nil, fmt.Errorf("cannot move the new instance into %s: %w", instDir, err)
	}
	committed = true
	// The lock file moved with the directory; let go of it before anything locks the instance.
	release()
	if err := atomicfile.SyncDir(limaDir); err != nil {
		return nil, err
	}
	return store.Inspect(ctx, name)
}

func existErr(name, dir string) error {
	return &existError{name: name, dir: dir}
}

// existError is Lima's "instance `NAME` already exists (`DIR`)", then what to do; it wraps ErrExist.
type existError struct{ name, dir string }

func (e *existError) Error() string {
	return fmt.Sprintf("instance %#q already exists (%#q); use `limactl start %s` to start it, or `limactl delete %s` first",
		e.name, e.dir, e.name, e.name)
}

func (e *existError) Unwrap() error { return ErrExist }

// validateConfig loads and validates a config the way an instance would see it at path.
func validateConfig(data []byte, path string, saveBrokenYAML bool) error {
	y, err := store.LoadYAML(data, path)
	if err == nil {
		err = deps.Validate(y, true)
	}
	if err == nil {
		return nil
	}
	if !saveBrokenYAML {
		return err
	}
	return SaveRejected(data, err)
}

// SaveRejected writes a config that failed validation to lima.REJECTED.yaml in the current
// directory. The error is a *RejectedError naming that file.
func SaveRejected(data []byte, cause error) error {
	rejected, _ := filepath.Abs(filenames.RejectedYAML)
	if err := atomicfile.WriteFile(rejected, data, 0o644); err != nil {
		return fmt.Errorf("the YAML is invalid, attempted to save the buffer as %#q but failed: %w", rejected, errors.Join(err, cause))
	}
	return &RejectedError{Path: rejected, Data: data, Err: cause}
}

// RejectedError says an invalid config was saved to Path (so the user's edits are not lost), and
// why it was rejected (Err). Line numbers in Err refer to Data, which is what Path holds.
type RejectedError struct {
	Path string
	Data []byte
	Err  error
}

func (e *RejectedError) Error() string {
	// The file is in the current directory; Lima names it so, without the directory.
	return fmt.Sprintf("the YAML is invalid, saved the buffer as %#q: %v", filepath.Base(e.Path), e.Err)
}

func (e *RejectedError) Unwrap() error { return e.Err }
