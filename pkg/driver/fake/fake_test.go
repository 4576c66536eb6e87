package fake

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/drivertest"
	"github.com/limactl/limactl/pkg/limayaml"
)

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
		dir := t.TempDir()
		base := filepath.Join(dir, "image")
		if err := os.WriteFile(base, []byte("a base image"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := driver.Config{Name: "test", InstanceDir: dir, Config: &limayaml.LimaYAML{}}
		return New(cfg), drivertest.Harness{
			Sibling:               func() driver.Driver { return New(cfg) },
			BaseImage:             base,
			GuestAgent:            true,
			SnapshotsWhileRunning: true,
		}
	})
}
