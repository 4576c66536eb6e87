package instance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Protect marks the instance so that Delete refuses it. Protecting twice is not an error.
func Protect(inst *store.Instance) error {
	p := filepath.Join(inst.Dir, filenames.Protected)
	if _, err := os.Lstat(p); err != nil {
		// Through atomicfile, so the marker is on disk (directory entry included) when we return.
		if err := atomicfile.WriteFile(p, nil, 0o444); err != nil {
			return fmt.Errorf("cannot protect instance %#q: %w", inst.Name, err)
		}
	}
	inst.Protected = true
	return nil
}

// Unprotect removes the protection. Unprotecting an unprotected instance is not an error.
func Unprotect(inst *store.Instance) error {
	if err := os.Remove(filepath.Join(inst.Dir, filenames.Protected)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot unprotect instance %#q: %w", inst.Name, err)
	}
	inst.Protected = false
	return nil
}

// ErrProtected is wrapped by Delete and FactoryReset for a protected instance.
var ErrProtected = errors.New("instance is protected")

// protectedError is Lima's refusal, word for word: "instance is protected to prohibit accidental
// removal (Hint: use `limactl unprotect`)", with what for the action refused.
type protectedError struct{ what string }

func (e *protectedError) Error() string {
	return "instance is protected to prohibit accidental " + e.what + " (Hint: use `limactl unprotect`)"
}

func (e *protectedError) Unwrap() error { return ErrProtected }
