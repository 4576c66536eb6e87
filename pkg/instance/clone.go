package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Clone copies the stopped instance old to a new instance newName, then applies the yq
// expressions exprs (edit flags) to the copy's lima.yaml. The copy leaves out `protected`, the
// swtpm/ state and runtime files (*.pid, *.sock, *.tmp), and drops vz-identifier so the clone gets
// its own machine identity. Like Create, it builds aside and renames into place; every copied file
// is fsynced before the rename, so a crash never publishes a clone with a half-copied disk.
//
// The source's instance lock, the one Start holds while it prepares and boots an instance, is held
// during the copy, so a start of the source cannot begin mid-copy; a start (or another change of the
// source) already in progress makes Clone fail at once.
func Clone(ctx context.Context, old *store.Instance, newName string, exprs []string) (*store.Instance, error) {
	if err := checkStopped(old, "clone"); err != nil {
		return nil, err
	}
	if err := ValidateName(newName); err != nil {
		return nil, err
	}
	newDir, err := dirnames.InstanceDir(newName)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(newDir); err == nil {
		return nil, existErr(newName, newDir)
	}
	if err := cloneLocked(ctx, old, newDir, newName); err != nil {
		return nil, err
	}
	inst, err := store.Inspect(ctx, newName)
	if err != nil {
		return nil, err
	}
	if err := ApplyEdits(ctx, inst, exprs); err != nil {
		return inst, fmt.Errorf("instance %#q was cloned, but the edits were not applied: %w", newName, err)
	}
	return store.Inspect(ctx, newName)
}

// testHookCloneCopied, when set, runs after the copy, with the source still locked.
var testHookCloneCopied func()

// cloneLocked copies old into newDir while holding old's instance lock.
func cloneLocked(ctx context.Context, old *store.Instance, newDir, newName string) error {
	lockPath := filepath.Join(old.Dir, filenames.InstanceLock)
	unlockSrc, err := lockutil.TryLock(lockPath)
	if errors.Is(err, lockutil.ErrLocked) {
		return fmt.Errorf("cannot clone instance %#q: %s holds its lock (`limactl start %s` in progress?); wait for it to finish, stop the instance, then clone it",
			old.Name, lockHolder(lockPath), old.Name)
	}
	if err != nil {
		return err
	}
	defer func() { _ = unlockSrc() }()
	// Re-read under the lock: a start may have finished between the caller's look and the lock.
	cur, err := store.Inspect(ctx, old.Name)
	if err != nil {
		return err
	}
	if err := checkStopped(cur, "clone"); err != nil {
		return err
	}
	limaDir := filepath.Dir(newDir)
	tmpDir, release, err := makeTmpDir(limaDir, newName+"-")
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.RemoveAll(tmpDir)
			release()
		}
	}()
	if err := copyInstanceDir(ctx, cur.Dir, tmpDir); err != nil {
		return fmt.Errorf("cannot copy instance %#q: %w", cur.Name, err)
	}
	if testHookCloneCopied != nil {
		testHookCloneCopied()
	}
	if err := renameNoReplace(tmpDir, newDir); err != nil {
		if isExist(err) {
			return existErr(newName, newDir)
		}
		return err
	}
	committed = true
	// The lock file moved with the directory; let go of it before anything locks the instance.
	release()
	return atomicfile.SyncDir(limaDir)
}

// Rename renames the stopped instance old to newName, then applies exprs to its lima.yaml.
func Rename(ctx context.Context, old *store.Instance, newName string, exprs []string) (*store.Instance, error) {
	if err := checkStopped(old, "rename"); err != nil {
		return nil, err
	}
	if err := ValidateName(newName); err != nil {
		return nil, err
	}
	newDir, err := dirnames.InstanceDir(newName)
	if err != nil {
		return nil, err
	}
	unlock, err := tryLock(old)
	if err != nil {
		return nil, err
	}
	err = renameNoReplace(old.Dir, newDir)
	_ = unlock()
	if err != nil {
		if isExist(err) {
			return nil, existErr(newName, newDir)
		}
		return nil, fmt.Errorf("cannot rename instance %#q: %w", old.Name, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(newDir)); err != nil {
		return nil, err
	}
	relinkDisks(old, newDir)
	inst, err := store.Inspect(ctx, newName)
	if err != nil {
		return nil, err
	}
	if err := ApplyEdits(ctx, inst, exprs); err != nil {
		return inst, fmt.Errorf("instance %#q was renamed to %#q, but the edits were not applied: %w", old.Name, newName, err)
	}
	return store.Inspect(ctx, newName)
}

func checkStopped(inst *store.Instance, verb string) error {
	switch inst.Status {
	case store.StatusStopped:
		return nil
	case store.StatusRunning: // Lima's words, then ours
		return fmt.Errorf("cannot %s a running instance (run `limactl stop %s` first)", verb, inst.Name)
	}
	return fmt.Errorf("cannot %s instance %#q: it is %s, but it must be Stopped (run `limactl stop %s` first)", verb, inst.Name, statusWord(inst), inst.Name)
}

// skipOnCopy reports whether a file of an instance directory stays behind when it is cloned.
func skipOnCopy(rel string) bool {
	base := filepath.Base(rel)
	switch {
	case rel == filenames.Protected, rel == filenames.VZIdentifier, rel == filenames.InstanceLock,
		rel == filenames.SwtpmDir, strings.HasPrefix(rel, filenames.SwtpmDir+string(filepath.Separator)):
		return true
	}
	for _, s := range filenames.TmpFileSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// copyInstanceDir copies the instance directory src into the new directory dst. Files are written
// with atomicfile (fsynced) and every directory is fsynced at the end, so once dst is renamed into
// place its content is on disk.
func copyInstanceDir(ctx context.Context, src, dst string) error {
	dirs := []string{dst}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		if skipOnCopy(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, target)
			return os.Mkdir(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(ctx, p, target, info.Mode().Perm())
		}
		return nil // sockets, fifos: runtime state
	})
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies a regular file, keeping its mode; on Linux io.Copy uses copy_file_range, which
// shares extents on filesystems that can (btrfs, xfs), so cloning a large disk is cheap there.
func copyFile(ctx context.Context, src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(dst, perm)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := out.Chmod(perm); err != nil {
		return err
	}
	return out.Commit()
}

// relinkDisks points the in_use_by links of the instance's additional disks at its new directory.
// Each new link is made under a temporary name and renamed over the old one, so a crash never
// leaves a disk without its lock.
func relinkDisks(inst *store.Instance, newDir string) {
	disksDir, err := dirnames.LimaDisksDir()
	if err != nil {
		return
	}
	for _, d := range inst.AdditionalDisks {
		link := filepath.Join(disksDir, d.Name, "in_use_by")
		if target, err := os.Readlink(link); err != nil || target != inst.Dir {
			continue
		}
		tmp := atomicfile.TempName(link)
		if err := os.Symlink(newDir, tmp); err != nil {
			continue
		}
		if err := os.Rename(tmp, link); err != nil {
			_ = os.Remove(tmp)
			continue
		}
		_ = atomicfile.SyncDir(filepath.Dir(link))
	}
}
