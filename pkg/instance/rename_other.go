//go:build !linux && !darwin

package instance

func renameNoReplace(oldPath, newPath string) error { return renameCheckFirst(oldPath, newPath) }
