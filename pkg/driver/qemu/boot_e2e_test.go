package qemu

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// TestBootTestImage boots the project's test guest (hack/build-test-image.sh) with this driver and
// checks, from inside the guest, what the plan promises: the boot disk is /dev/vda, the cidata CD on
// virtio-scsi is found by its label, the guest-agent virtio-serial port carries bytes to ga.sock, and
// a graceful Stop powers the guest off. It boots a VM (about a minute under TCG), so it runs only with
// LIMACTL_E2E=1; LIMACTL_TEST_IMAGE_DIR names the image directory (default: the builder's cache).
func TestBootTestImage(t *testing.T) {
	if os.Getenv("LIMACTL_E2E") == "" {
		t.Skip("boots a VM; set LIMACTL_E2E=1 to run")
	}
	needQEMU(t)
	imgDir := os.Getenv("LIMACTL_TEST_IMAGE_DIR")
	if imgDir == "" {
		imgDir = "/var/cache/limactl-test-image/latest"
	}
	for _, f := range []string{"disk.qcow2", "vmlinuz", "initrd.img"} {
		if _, err := os.Stat(filepath.Join(imgDir, f)); err != nil {
			t.Skipf("no test image: %v (build it with hack/build-test-image.sh)", err)
		}
	}
	if _, err := exec.LookPath("genisoimage"); err != nil {
		t.Skip("genisoimage is not installed")
	}
	dir := t.TempDir()
	copyFile(t, filepath.Join(imgDir, "vmlinuz"), filepath.Join(dir, "kernel"))
	copyFile(t, filepath.Join(imgDir, "initrd.img"), filepath.Join(dir, "initrd"))
	signer := writeCIData(t, dir)

	cfg := driver.Config{
		Name: "e2e", InstanceDir: dir, SSHLocalPort: freePort(t),
		BaseImage:   filepath.Join(imgDir, "disk.qcow2"),
		StopTimeout: 2 * time.Minute,
		Config: &limayaml.LimaYAML{
			Arch: ptr(limayaml.X8664), CPUs: ptr(2), Memory: ptr("2GiB"), Disk: ptr("4GiB"),
			MountType: ptr(limayaml.REVSSHFS),
			Firmware:  limayaml.Firmware{LegacyBIOS: ptr(true)},
			Video:     limayaml.Video{Display: ptr("none")},
			Images: []limayaml.Image{{
				File:   limayaml.File{Location: "unused", Arch: limayaml.X8664},
				Kernel: &limayaml.Kernel{Cmdline: "console=ttyS0 root=/dev/vda rw quiet"},
				Initrd: &limayaml.File{Location: "unused"},
			}},
		},
	}
	d := New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Kill(context.Background()) })

	client := dialSSH(t, ctx, cfg.SSHLocalPort, signer, filepath.Join(dir, "serial.log"))
	defer client.Close()
	out := run(t, client, "findmnt -no SOURCE /") + run(t, client, "sudo blkid -L cidata") + run(t, client, "ls /dev/virtio-ports/")
	t.Logf("guest (%d bytes):\n%s", len(out), out)
	for _, want := range []string{"/dev/vda", "/dev/sr0", GuestAgentPort} {
		if !strings.Contains(out, want) {
			t.Errorf("guest output lacks %q", want)
		}
	}

	// Bytes the guest writes to its port arrive on the host's GuestAgentConn.
	conn, err := d.GuestAgentConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	run(t, client, "echo hello-from-guest | sudo tee /dev/virtio-ports/"+GuestAgentPort+" >/dev/null")
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(conn, buf, len("hello-from-guest"))
	if err != nil || !strings.Contains(string(buf[:n]), "hello-from-guest") {
		t.Errorf("ga.sock read %q, %v; want hello-from-guest", buf[:n], err)
	}

	start := time.Now()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("graceful stop took %v", time.Since(start))
	if err := <-errCh; err != nil {
		t.Errorf("Start channel after Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, stopMarker(0))); err == nil {
		t.Error("stop marker left behind")
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCIData writes a minimal NoCloud seed with a fresh SSH key and returns the key.
func writeCIData(t *testing.T, dir string) ssh.Signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	seed := filepath.Join(dir, "seed")
	if err := os.Mkdir(seed, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"meta-data": "instance-id: iid-e2e\nlocal-hostname: lima-e2e\n",
		"user-data": fmt.Sprintf("#cloud-config\nusers:\n  - name: tester\n    shell: /bin/bash\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: true\n    ssh_authorized_keys:\n      - %s\n",
			strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(seed, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("genisoimage", "-quiet", "-output", filepath.Join(dir, "cidata.iso"), "-volid", "cidata", "-joliet", "-rock",
		filepath.Join(seed, "user-data"), filepath.Join(seed, "meta-data")).CombinedOutput()
	if err != nil {
		t.Fatalf("genisoimage: %v\n%s", err, out)
	}
	return signer
}

// dialSSH retries until the guest's sshd accepts the key, with a growing interval.
func dialSSH(t *testing.T, ctx context.Context, port int, signer ssh.Signer, serialLog string) *ssh.Client {
	t.Helper()
	cfg := &ssh.ClientConfig{
		User: "tester", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	}
	delay := 500 * time.Millisecond
	for {
		c, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
		if err == nil {
			return c
		}
		select {
		case <-ctx.Done():
			b, _ := os.ReadFile(serialLog)
			t.Fatalf("no SSH: %v; serial log:\n%s", err, b)
		case <-time.After(delay):
		}
		if delay < 4*time.Second {
			delay *= 2
		}
	}
}

func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return string(out)
}
