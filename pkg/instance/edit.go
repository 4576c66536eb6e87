package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// ErrRejected is wrapped by SaveYAML when the new config is invalid.
var ErrRejected = errors.New("the edited configuration was rejected")

// rejectedEdit is an invalid edit. Its text starts as Lima's does, "the YAML is invalid", followed
// (when the text was saved) by where it was saved, then the problems.
type rejectedEdit struct{ err error }

func (e *rejectedEdit) Error() string {
	if msg := e.err.Error(); strings.HasPrefix(msg, "the YAML is invalid") { // saved (or not) by SaveRejected
		return msg
	}
	return "the YAML is invalid: " + e.err.Error()
}

func (e *rejectedEdit) Unwrap() []error { return []error{ErrRejected, e.err} }

// ValidateEdit checks an edited lima.yaml: it must load, validate, and be a change the existing
// instance can take (the disk cannot shrink). path is where the YAML will live.
func ValidateEdit(yNew, yLatest []byte, path string) error {
	y, err := store.LoadYAML(yNew, path)
	if err != nil {
		return err
	}
	if err := deps.Validate(y, true); err != nil {
		return err
	}
	return deps.ValidateAgainstLatestConfig(yNew, yLatest)
}

// SaveYAML replaces the instance's lima.yaml with yNew after ValidateEdit, while holding the
// instance lock, with atomicfile: a crash leaves the old lima.yaml or the new one. With
// saveRejected, an invalid yNew is written to lima.REJECTED.yaml in the current directory and the
// error says so.
func SaveYAML(_ context.Context, inst *store.Instance, yNew []byte, saveRejected bool) error {
	path := filepath.Join(inst.Dir, filenames.LimaYAML)
	return lockutil.WithDirLock(inst.Dir, func() error {
		yLatest, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := ValidateEdit(yNew, yLatest, path); err != nil {
			if saveRejected {
				err = SaveRejected(yNew, err)
			}
			return &rejectedEdit{err: err}
		}
		return atomicfile.WriteFile(path, yNew, 0o644)
	})
}

// ApplyEdits applies yq expressions (from the edit flags) to the instance's lima.yaml and saves
// the result with SaveYAML. It does nothing when exprs is empty.
func ApplyEdits(ctx context.Context, inst *store.Instance, exprs []string) error {
	if len(exprs) == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(inst.Dir, filenames.LimaYAML))
	if err != nil {
		return err
	}
	t := &deps.Template{Name: inst.Name, Bytes: b}
	if err := deps.ApplyYQ(t, exprs...); err != nil {
		return err
	}
	return SaveYAML(ctx, inst, t.Bytes, false)
}
