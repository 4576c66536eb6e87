// Package instance changes instances on disk: create, delete, protect, clone, rename, edit and
// factory-reset. Every change is either atomic (a directory built aside and renamed into place) or
// made while holding the instance lock (pkg/lockutil), so concurrent limactl processes never see or
// leave a half-written instance.
package instance
