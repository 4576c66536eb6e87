package instance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

func TestStaleTmpDirsAreCleaned(t *testing.T) {
	limaHome := setLimaHome(t)
	old := time.Now().Add(-time.Hour)
	mk := func(name string) string {
		d := filepath.Join(limaHome, name)
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
		return d
	}
	crashed := mk(".tmp-crashed-123")
	live := mk(".tmp-live-456")
	unlock, err := lockutil.Lock(filepath.Join(live, filenames.InstanceLock))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_ = os.Chtimes(live, old, old)
	fresh := filepath.Join(limaHome, ".tmp-fresh-789")
	if err := os.Mkdir(fresh, 0o700); err != nil {
		t.Fatal(err)
	}

	mustCreate(t, "next")

	if _, err := os.Stat(crashed); !os.IsNotExist(err) {
		t.Errorf("the unlocked leftover %s survived: %v", crashed, err)
	}
	for _, d := range []string{live, fresh} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed although it is in use or new: %v", d, err)
		}
	}
}
