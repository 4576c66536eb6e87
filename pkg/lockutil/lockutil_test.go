package lockutil

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestTryLockHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "instance.lock")
	unlock, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second open in the same process conflicts.
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while held: got %v, want ErrLocked", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock2, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after unlock: %v", err)
	}
	_ = unlock2()
}

func TestWithDirLock(t *testing.T) {
	dir := t.TempDir()
	ran := false
	if err := WithDirLock(dir, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("WithDirLock: ran=%v err=%v", ran, err)
	}
}
