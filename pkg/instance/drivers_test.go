package instance

// The tests prepare and stop qemu instances through the driver registry; the limactl binary registers
// its drivers in cmd/limactl/drivers.go, the tests here.
import _ "github.com/limactl/limactl/pkg/driver/qemu"
