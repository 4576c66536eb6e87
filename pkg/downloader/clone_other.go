//go:build !darwin

package downloader

// tryClone is a no-op here: cloneOrCopy's io.Copy already uses copy_file_range on Linux.
func tryClone(_, _ string) bool { return false }
