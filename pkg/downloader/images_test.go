package downloader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
)

func img(loc, arch, variant string) limayaml.Image {
	return limayaml.Image{File: limayaml.File{Location: loc, Arch: arch}, Variant: variant}
}

func TestSelectImages(t *testing.T) {
	images := []limayaml.Image{
		img("a1", "aarch64", ""),
		img("x1", "x86_64", "minimal"),
		img("x2", "x86_64", ""),
		img("x3", "x86_64", "minimal"),
		img("a2", "aarch64", ""),
		img("n1", "", "minimal"),
	}
	for _, tc := range []struct {
		arch string
		want []string
	}{
		{"x86_64", []string{"x1", "x3", "n1"}},
		{"aarch64", []string{"a1", "a2"}},
		{"riscv64", []string{"n1"}},
		{"s390x", []string{"n1"}},
	} {
		var got []string
		for _, i := range SelectImages(images, tc.arch) {
			got = append(got, i.Location)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.arch, diff)
		}
	}
	if got := SelectImages(images[:5], "riscv64"); got != nil {
		t.Errorf("no image for riscv64: got %v", got)
	}
}

func TestDownloadImageTriesInOrder(t *testing.T) {
	image, kernel, initrd := testBytes(512<<10, 40), testBytes(64<<10, 41), testBytes(32<<10, 42)
	gz := compressWith(t, "gzip", image)
	srv := newTestServer(t, map[string][]byte{"/good.img.gz": gz, "/vmlinuz": kernel, "/initrd": initrd})
	instDir := t.TempDir()
	images := []limayaml.Image{
		img("https://127.0.0.1:1/unreachable.img", "x86_64", ""),
		img(srv.URL+"/missing.img", "x86_64", ""),
		{File: limayaml.File{Location: srv.URL + "/good.img.gz", Arch: "x86_64", Digest: sha256Of([]byte("wrong"))}},
		{
			File:   limayaml.File{Location: srv.URL + "/good.img.gz", Arch: "x86_64", Digest: sha256Of(gz)},
			Kernel: &limayaml.Kernel{File: limayaml.File{Location: srv.URL + "/vmlinuz", Digest: sha256Of(kernel)}, Cmdline: "console=ttyS0"},
			Initrd: &limayaml.File{Location: srv.URL + "/initrd"},
		},
		img(srv.URL+"/never-tried.img", "x86_64", ""),
	}
	chosen, err := DownloadImage(context.Background(), instDir, images, "x86_64", WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(images[3], chosen); diff != "" {
		t.Errorf("chosen image (-want +got):\n%s", diff)
	}
	mustEqualBytes(t, "image", readFile(t, filepath.Join(instDir, "image")), image)
	mustEqualBytes(t, "kernel", readFile(t, filepath.Join(instDir, "kernel")), kernel)
	mustEqualBytes(t, "initrd", readFile(t, filepath.Join(instDir, "initrd")), initrd)
	if got := string(readFile(t, filepath.Join(instDir, "kernel.cmdline"))); got != "console=ttyS0" {
		t.Errorf("kernel.cmdline = %q", got)
	}
}

func TestDownloadImageReportsEveryFailure(t *testing.T) {
	srv := newTestServer(t, map[string][]byte{"/img": []byte("data"), "/img2": []byte("data")})
	instDir := t.TempDir()
	images := []limayaml.Image{
		img(srv.URL+"/missing.img", "aarch64", ""),
		{File: limayaml.File{Location: srv.URL + "/img", Arch: "aarch64", Digest: sha256Of([]byte("other"))}},
		// The image downloads but its kernel does not: the image must not stay behind.
		{File: limayaml.File{Location: srv.URL + "/img2", Arch: "aarch64"}, Kernel: &limayaml.Kernel{File: limayaml.File{Location: srv.URL + "/nokernel"}}},
		img(srv.URL+"/img", "x86_64", ""),
	}
	_, err := DownloadImage(context.Background(), instDir, images, "aarch64")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"tried 3 location(s)", "/missing.img: ", "404 Not Found", "digest mismatch", "/img2: kernel: ", "/nokernel"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if entries, _ := os.ReadDir(instDir); len(entries) != 0 {
		t.Errorf("files left in the instance dir: %v", entries)
	}
	if _, err := DownloadImage(context.Background(), instDir, images, "riscv64"); err == nil || !strings.Contains(err.Error(), "aarch64, x86_64") {
		t.Errorf("no image for the arch: %v", err)
	}
}

func TestDownloadFirmware(t *testing.T) {
	fw := testBytes(64<<10, 43)
	srv := newTestServer(t, map[string][]byte{"/fw.fd": fw})
	dest := filepath.Join(t.TempDir(), "qemu-efi-code.fd")
	files := []limayaml.FileWithVMType{
		{File: limayaml.File{Location: srv.URL + "/fw.fd", Arch: "aarch64"}},
		{File: limayaml.File{Location: srv.URL + "/fw.fd", Arch: "x86_64"}, VMType: "vz"},
		{File: limayaml.File{Location: srv.URL + "/fw.fd", Arch: "x86_64", Digest: sha256Of(fw)}, VMType: "qemu"},
	}
	got, err := DownloadFirmware(context.Background(), dest, files, "x86_64", "qemu")
	if err != nil || got.VMType != "qemu" {
		t.Fatalf("%+v, %v", got, err)
	}
	mustEqualBytes(t, "firmware", readFile(t, dest), fw)
	if _, err := DownloadFirmware(context.Background(), dest, files, "riscv64", "qemu"); !errors.Is(err, ErrNoFirmware) {
		t.Errorf("no firmware: %v", err)
	}
}
