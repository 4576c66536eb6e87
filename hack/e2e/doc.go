// Package e2e is limactl's end-to-end suite: it builds limactl, boots the test guest image
// (hack/build-test-image.sh) under QEMU with a temporary LIMA_HOME, and drives the binary as a user
// would. The tests run only when LIMACTL_E2E_IMAGE_DIR names a built image directory and
// qemu-system-x86_64 is installed; `make test` sets it up.
package e2e
