package driver

import "errors"

// Error kinds. Drivers wrap one of these with %w and add what happened and what the user can do next;
// callers test with errors.Is.
var (
	// ErrNotFound: a file, snapshot or other named thing the operation needs does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the thing to create (e.g. a snapshot tag) exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrAlreadyRunning: the instance runs, and the operation needs it stopped (Start, CreateDisk,
	// Delete).
	ErrAlreadyRunning = errors.New("already running")
	// ErrNotRunning: the operation needs a running instance (GuestAgentConn, a dynamic SSHAddress).
	ErrNotRunning = errors.New("not running")
	// ErrUnsupported: this driver, or this driver on this host, cannot do it.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalidConfig: lima.yaml asks for something this driver cannot run; the message names the field.
	ErrInvalidConfig = errors.New("invalid configuration")
)
