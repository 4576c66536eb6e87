//go:build !linux

package hostagent

import "errors"

// newPathWatcher is implemented for Linux hosts only.
func newPathWatcher([]string, int) (pathWatcher, error) {
	return nil, errors.New("mountInotify is implemented for Linux hosts only")
}
