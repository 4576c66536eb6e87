//go:build !darwin

package atomicfile

import "os"

// fsync flushes f to stable storage (fsync(2); FlushFileBuffers on Windows).
func fsync(f *os.File) error { return f.Sync() }
