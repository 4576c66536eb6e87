package templates_test

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/templates"
)

// image is the part of an images[] entry these tests look at.
type image struct {
	Location string `yaml:"location"`
	Arch     string `yaml:"arch"`
	Digest   string `yaml:"digest"`
}

// parse decodes the embedded template name into a generic map, failing the test on error.
// yaml.v3 also rejects duplicate keys, which a typo in a template could otherwise hide.
func parse(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := templates.Read(name)
	if err != nil {
		t.Fatalf("Read(%q): %v", name, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.yaml is not valid YAML: %v", name, err)
	}
	if m == nil {
		t.Fatalf("%s.yaml is empty", name)
	}
	return m
}

// images returns the images[] entries written in the template itself (not its bases).
func images(t *testing.T, name string) []image {
	t.Helper()
	b, err := templates.Read(name)
	if err != nil {
		t.Fatalf("Read(%q): %v", name, err)
	}
	var y struct {
		Images []image `yaml:"images"`
	}
	if err := yaml.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s.yaml: images: %v", name, err)
	}
	return y.Images
}

// bases returns the embedded template names a template's `base:` refers to. Lima accepts a
// single locator or a list, each a string or {url, digest}; only template: locators are
// allowed in shipped templates, since they must not depend on the network or the host.
func bases(t *testing.T, name string) []string {
	t.Helper()
	var raw []any
	switch v := parse(t, name)["base"].(type) {
	case nil:
		return nil
	case []any:
		raw = v
	default:
		raw = []any{v}
	}
	var out []string
	for _, r := range raw {
		loc, ok := r.(string)
		if m, isMap := r.(map[string]any); isMap {
			loc, ok = m["url"].(string)
		}
		if !ok {
			t.Fatalf("%s.yaml: base entry %v is neither a string nor {url: ...}", name, r)
		}
		ref, found := strings.CutPrefix(loc, "template://")
		if !found {
			ref, found = strings.CutPrefix(loc, "template:")
		}
		if !found {
			t.Fatalf("%s.yaml: base %q is not a template: locator", name, loc)
		}
		out = append(out, strings.TrimSuffix(ref, ".yaml"))
	}
	return out
}

// resolvedImages walks the base chain depth-first, as Lima merges it (the template's own
// images first, then each base's in order), and fails on a missing base or a loop.
func resolvedImages(t *testing.T, name string, visiting map[string]bool) []image {
	t.Helper()
	if visiting[name] {
		t.Fatalf("base loop through %q", name)
	}
	if _, err := templates.Read(name); err != nil {
		t.Fatalf("base %q is not an embedded template: %v", name, err)
	}
	visiting[name] = true
	defer delete(visiting, name)
	out := images(t, name)
	for _, b := range bases(t, name) {
		out = append(out, resolvedImages(t, b, visiting)...)
	}
	return out
}

func isBuildingBlock(name string) bool { return strings.HasPrefix(name, "_") }

func TestNames(t *testing.T) {
	want := []string{
		"_default/mounts",
		"_images/almalinux-10",
		"_images/almalinux-8",
		"_images/almalinux-9",
		"_images/almalinux-kitten-10",
		"_images/alpine",
		"_images/alpine-3.21",
		"_images/alpine-3.22",
		"_images/alpine-3.23",
		"_images/alpine-iso",
		"_images/amazonlinux",
		"_images/amazonlinux-2023",
		"_images/archlinux",
		"_images/centos-stream-10",
		"_images/centos-stream-9",
		"_images/debian-11",
		"_images/debian-12",
		"_images/debian-13",
		"_images/fedora",
		"_images/fedora-41",
		"_images/fedora-42",
		"_images/fedora-43",
		"_images/fedora-44",
		"_images/freebsd-15",
		"_images/macos-15",
		"_images/macos-26",
		"_images/macos-27",
		"_images/opensuse-leap",
		"_images/opensuse-leap-15",
		"_images/opensuse-leap-16",
		"_images/oraclelinux-10",
		"_images/oraclelinux-8",
		"_images/oraclelinux-9",
		"_images/rocky-10",
		"_images/rocky-8",
		"_images/rocky-9",
		"_images/ubuntu",
		"_images/ubuntu-20.04",
		"_images/ubuntu-22.04",
		"_images/ubuntu-24.04",
		"_images/ubuntu-24.10",
		"_images/ubuntu-25.04",
		"_images/ubuntu-25.10",
		"_images/ubuntu-26.04",
		"_images/ubuntu-lts",
		"almalinux",
		"almalinux-10",
		"almalinux-8",
		"almalinux-9",
		"almalinux-kitten",
		"almalinux-kitten-10",
		"alpine",
		"alpine-3.21",
		"alpine-3.22",
		"alpine-3.23",
		"alpine-iso",
		"amazonlinux",
		"amazonlinux-2023",
		"apptainer",
		"apptainer-rootful",
		"archlinux",
		"buildkit",
		"centos-stream",
		"centos-stream-10",
		"centos-stream-9",
		"debian",
		"debian-11",
		"debian-12",
		"debian-13",
		"default",
		"docker",
		"docker-rootful",
		"experimental/alsa",
		"experimental/debian-sid",
		"experimental/gentoo",
		"experimental/opensuse-tumbleweed",
		"experimental/rke2",
		"experimental/u7s",
		"experimental/ubuntu-next",
		"experimental/vnc",
		"experimental/wsl2",
		"faasd",
		"fedora",
		"fedora-41",
		"fedora-42",
		"fedora-43",
		"fedora-44",
		"freebsd",
		"freebsd-15",
		"k0s",
		"k3s",
		"k8s",
		"linuxbrew",
		"macos",
		"macos-15",
		"macos-26",
		"macos-27",
		"opensuse",
		"opensuse-leap",
		"opensuse-leap-15",
		"opensuse-leap-16",
		"oraclelinux",
		"oraclelinux-10",
		"oraclelinux-8",
		"oraclelinux-9",
		"podman",
		"podman-rootful",
		"rocky",
		"rocky-10",
		"rocky-8",
		"rocky-9",
		"ubuntu",
		"ubuntu-20.04",
		"ubuntu-22.04",
		"ubuntu-24.04",
		"ubuntu-24.10",
		"ubuntu-25.04",
		"ubuntu-25.10",
		"ubuntu-26.04",
		"ubuntu-lts",
	}
	if diff := cmp.Diff(want, templates.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s\nUpdate this list and docs/templates.md together.", diff)
	}
	if _, err := templates.Read("no-such-template"); err == nil {
		t.Error(`Read("no-such-template") returned no error`)
	}
}

// limaKeys are the top-level fields of Lima's instance YAML (lima-behavior.md, section 2).
var limaKeys = map[string]bool{
	"base": true, "minimumLimaVersion": true, "vmType": true, "vmOpts": true, "os": true,
	"osOpts": true, "arch": true, "images": true, "cpuType": true, "cpus": true, "memory": true,
	"disk": true, "additionalDisks": true, "mounts": true, "mountTypesUnsupported": true,
	"mountType": true, "mountInotify": true, "ssh": true, "firmware": true, "audio": true,
	"video": true, "provision": true, "upgradePackages": true, "containerd": true,
	"guestInstallPrefix": true, "probes": true, "portForwards": true, "copyToHost": true,
	"message": true, "networks": true, "env": true, "param": true, "dns": true,
	"hostResolver": true, "propagateProxyEnv": true, "caCerts": true, "rosetta": true,
	"plain": true, "timezone": true, "nestedVirtualization": true, "user": true, "tpm": true,
}

// imageBlockKeys are what an _images building block may set: facts about the image only
// (what it needs to boot and which mount types its kernel lacks), never a user's choice.
var imageBlockKeys = map[string]bool{
	"base": true, "images": true, "mountTypesUnsupported": true, "mountType": true,
	"vmType": true, "firmware": true, "cpuType": true, "ssh": true, "os": true, "arch": true, "param": true,
}

func TestKeys(t *testing.T) {
	for _, name := range templates.Names() {
		allowed := limaKeys
		if strings.HasPrefix(name, "_images/") {
			allowed = imageBlockKeys
		}
		for k := range parse(t, name) {
			if !allowed[k] {
				t.Errorf("%s.yaml: unexpected top-level key %q", name, k)
			}
		}
	}
}

var (
	digestLen = map[string]int{"sha256": 64, "sha512": 128}
	hexRE     = regexp.MustCompile(`^[0-9a-f]+$`)
	// A build identifier in the URL: a date (Ubuntu serials, Debian, Arch, EL and Amazon
	// builds), a point release (Alpine 3.23.4), a Fedora compose (-44-1.7.) or an Oracle
	// Linux build number (-kvm-b270.), an Apple build (_25D125_) or a Finch rootfs build
	// time (-1738856482.tar).
	buildIDRE = regexp.MustCompile(`20\d{6}|\d+\.\d+\.\d+|-\d+-\d+\.\d+\.|-b\d+\.|_\d+[A-Z]\d+_|-\d{10}\.tar`)
	// Path parts that name a moving target rather than one build. (Ubuntu's moving directory
	// is ".../release/ubuntu-...", while Fedora's ".../release/41/..." names a release.)
	movingRE = regexp.MustCompile(`(?i)/(latest|current|daily)/|/release/\D|-daily\b|latest`)
	arches   = map[string]bool{"x86_64": true, "aarch64": true, "armv7l": true, "ppc64le": true, "riscv64": true, "s390x": true}
)

func checkImage(img image) error {
	u, err := url.Parse(img.Location)
	if err != nil {
		return fmt.Errorf("location %q: %w", img.Location, err)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("location %q is not https", img.Location)
	}
	if movingRE.MatchString(u.Path) || !buildIDRE.MatchString(u.Path) {
		return fmt.Errorf("location %q does not name one dated or numbered build", img.Location)
	}
	if !arches[img.Arch] {
		return fmt.Errorf("location %q: arch %q is not one of Lima's", img.Location, img.Arch)
	}
	return checkDigest(img)
}

// checkDigest accepts an empty digest or a well-formed sha256/sha512 one.
func checkDigest(img image) error {
	if img.Digest == "" {
		return nil
	}
	algo, hex, _ := strings.Cut(img.Digest, ":")
	n, ok := digestLen[algo]
	if !ok {
		return fmt.Errorf("location %q: digest %q: algorithm must be sha256 or sha512", img.Location, img.Digest)
	}
	if len(hex) != n || !hexRE.MatchString(hex) {
		return fmt.Errorf("location %q: digest %q: want %d lowercase hex digits after %q", img.Location, img.Digest, n, algo+":")
	}
	return nil
}

func TestCheckImage(t *testing.T) {
	good := image{
		Location: "https://cloud.debian.org/images/cloud/bookworm/20260923-2610/debian-12-genericcloud-amd64-20260923-2610.qcow2",
		Arch:     "x86_64",
		Digest:   "sha256:" + strings.Repeat("a", 64),
	}
	tests := []struct {
		name   string
		modify func(*image)
		ok     bool
	}{
		{"good", func(*image) {}, true},
		{"no digest", func(i *image) { i.Digest = "" }, true},
		{"sha512", func(i *image) { i.Digest = "sha512:" + strings.Repeat("0", 128) }, true},
		{"http", func(i *image) { i.Location = strings.Replace(i.Location, "https", "http", 1) }, false},
		{"latest", func(i *image) {
			i.Location = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
		}, false},
		{"fedora numbered release dir", func(i *image) {
			i.Location = "https://dl.fedoraproject.org/pub/alt/risc-v/release/41/Cloud/riscv64/images/Fedora-Cloud-Base-Generic-41.20250224-1026a2d0e311.riscv64.qcow2"
		}, true},
		{"oracle build number", func(i *image) {
			i.Location = "https://yum.oracle.com/templates/OracleLinux/OL10/u1/x86_64/OL10U1_x86_64-kvm-b270.qcow2"
		}, true},
		{"ubuntu moving release dir", func(i *image) {
			i.Location = "https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.img"
		}, false},
		{"short sha256", func(i *image) { i.Digest = "sha256:" + strings.Repeat("a", 63) }, false},
		{"sha512 length on sha256", func(i *image) { i.Digest = "sha256:" + strings.Repeat("a", 128) }, false},
		{"uppercase hex", func(i *image) { i.Digest = "sha256:" + strings.Repeat("A", 64) }, false},
		{"md5", func(i *image) { i.Digest = "md5:" + strings.Repeat("a", 32) }, false},
		{"bad arch", func(i *image) { i.Arch = "amd64" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := good
			tt.modify(&img)
			if err := checkImage(img); (err == nil) != tt.ok {
				t.Errorf("checkImage(%+v) = %v, want ok=%v", img, err, tt.ok)
			}
		})
	}
}

// unpinned are the templates whose images the distribution publishes only under a moving
// name (rebuilt in place, or "latest"/"current"/"daily"), with no digest one could pin;
// upstream Lima pins none for them either. docs/templates.md lists them.
var unpinned = map[string]bool{
	"_images/opensuse-leap-15":         true,
	"_images/opensuse-leap-16":         true,
	"experimental/debian-sid":          true,
	"experimental/gentoo":              true,
	"experimental/opensuse-tumbleweed": true,
	"experimental/ubuntu-next":         true,
}

// digestOnly are the templates whose image URLs cannot show the build but are pinned by their
// digest: FreeBSD's archive of old releases keeps each release's files for good, under a
// ".../15.0-RELEASE/<arch>/Latest/" path, and serves them over plain HTTP only.
var digestOnly = map[string]bool{"_images/freebsd-15": true}

func TestImages(t *testing.T) {
	for _, name := range templates.Names() {
		for _, img := range images(t, name) {
			if digestOnly[name] {
				if err := checkDigest(img); err != nil || img.Digest == "" || !arches[img.Arch] {
					t.Errorf("%s.yaml: %s (%s): want one of Lima's arches and a digest (%v)", name, img.Location, img.Arch, err)
				}
				continue
			}
			if unpinned[name] {
				if img.Digest != "" {
					t.Errorf("%s.yaml: %s: a digest on a moving image breaks at its next rebuild", name, img.Location)
				}
				u, err := url.Parse(img.Location)
				if err != nil || u.Scheme != "https" || !arches[img.Arch] {
					t.Errorf("%s.yaml: %s (%s): want an https URL and one of Lima's arches", name, img.Location, img.Arch)
				}
				continue
			}
			if err := checkImage(img); err != nil {
				t.Errorf("%s.yaml: %v", name, err)
			}
			if img.Digest == "" {
				t.Errorf("%s.yaml: %s has no digest", name, img.Location)
			}
		}
	}
	for name := range unpinned {
		if _, err := templates.Read(name); err != nil {
			t.Errorf("unpinned lists %q, which is not a template", name)
		}
	}
}

// Every general template, and every image block, must offer both x86_64 and aarch64 images
// through its base chain, so that it starts on Intel and on Arm hosts alike.
func TestBothArchesThroughBases(t *testing.T) {
	// Gentoo publishes its cloud image for x86_64 only; macOS guests exist for Apple
	// silicon (aarch64) only.
	oneArch := func(name string) bool {
		return name == "experimental/gentoo" || name == "experimental/wsl2" ||
			strings.HasPrefix(name, "macos") || strings.HasPrefix(name, "_images/macos")
	}
	for _, name := range templates.Names() {
		if strings.HasPrefix(name, "_default/") || oneArch(name) {
			continue
		}
		have := map[string]bool{}
		for _, img := range resolvedImages(t, name, map[string]bool{}) {
			have[img.Arch] = true
		}
		for _, arch := range []string{"x86_64", "aarch64"} {
			if !have[arch] {
				t.Errorf("%s: no %s image through its base chain", name, arch)
			}
		}
	}
}

func TestGeneralTemplatesMountDefaults(t *testing.T) {
	// The Kubernetes and faasd templates deliberately mount nothing, as upstream's do.
	noMounts := map[string]bool{
		"k3s": true, "k8s": true, "k0s": true, "faasd": true,
		"experimental/rke2": true, "experimental/u7s": true,
		// A WSL2 distribution sees the Windows drives through WSL itself.
		"experimental/wsl2": true,
	}
	for _, name := range templates.Names() {
		if isBuildingBlock(name) || noMounts[name] {
			continue
		}
		bs := bases(t, name)
		if !contains(bs, "_default/mounts") {
			t.Errorf("%s.yaml: base %v lacks template:_default/mounts", name, bs)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestHeaders(t *testing.T) {
	for _, name := range templates.Names() {
		if isBuildingBlock(name) {
			continue
		}
		b, _ := templates.Read(name)
		if !strings.HasPrefix(string(b), "# ") {
			t.Errorf("%s.yaml: does not start with a comment saying what it is", name)
		}
		if want := "limactl start template:" + name; !strings.Contains(string(b), want) {
			t.Errorf("%s.yaml: header does not show %q", name, want)
		}
	}
}

// Lima refuses a template whose minimumLimaVersion is newer than itself; ours says it is
// Lima 2.0-compatible, so nothing shipped may ask for more.
func TestMinimumLimaVersion(t *testing.T) {
	for _, name := range templates.Names() {
		v, ok := parse(t, name)["minimumLimaVersion"].(string)
		if !ok {
			continue
		}
		if compareVersions(v, "2.0.0") > 0 {
			t.Errorf("%s.yaml: minimumLimaVersion %q is newer than 2.0.0", name, v)
		}
	}
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for len(as) < len(bs) {
		as = append(as, "0")
	}
	for len(bs) < len(as) {
		bs = append(bs, "0")
	}
	for i := range as {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Probe scripts must start with a shebang (Lima's validation rejects them otherwise); we
// hold provision scripts to the same rule so that they never depend on a default shell.
func TestScriptsHaveShebang(t *testing.T) {
	for _, name := range templates.Names() {
		m := parse(t, name)
		for _, field := range []string{"provision", "probes"} {
			list, _ := m[field].([]any)
			for i, e := range list {
				entry, _ := e.(map[string]any)
				script, ok := entry["script"].(string)
				if ok && !strings.HasPrefix(script, "#!") {
					t.Errorf("%s.yaml: %s[%d].script does not start with #!", name, field, i)
				}
			}
		}
	}
}

// The default template is what `limactl start` with no argument uses.
func TestDefault(t *testing.T) {
	got := bases(t, "default")
	want := []string{"_images/ubuntu", "_default/mounts"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default.yaml base mismatch (-want +got):\n%s", diff)
	}
	var keys []string
	for k := range parse(t, "default") {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"base"}, keys); diff != "" {
		t.Errorf("default.yaml should set nothing but base (-want +got):\n%s", diff)
	}
}

// Lima 2.x's default is Ubuntu 26.04, and its default mounts are the home directory,
// read-only, and nothing else (/tmp/lima went away in 2.0).
func TestDefaultImageAndMounts(t *testing.T) {
	var locs []string
	for _, img := range resolvedImages(t, "default", map[string]bool{}) {
		locs = append(locs, img.Location)
	}
	if len(locs) == 0 {
		t.Fatal("default has no images through its bases")
	}
	for _, l := range locs {
		if !strings.Contains(l, "/ubuntu-26.04-server-cloudimg-") {
			t.Errorf("default image %s is not Ubuntu 26.04", l)
		}
	}
	b, _ := templates.Read("_default/mounts")
	var y struct {
		Mounts []map[string]any `yaml:"mounts"`
	}
	if err := yaml.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"location": "~"}}
	if diff := cmp.Diff(want, y.Mounts); diff != "" {
		t.Errorf("_default/mounts mismatch (-want +got):\n%s", diff)
	}
}

// containerd is written out in every template that runs its own container engine, as
// upstream's templates do: off where the engine brings its own, on where the template is
// built on Lima's (rootless for BuildKit, system-wide for kubeadm).
func TestContainerd(t *testing.T) {
	off := map[string]any{"system": false, "user": false}
	want := map[string]map[string]any{
		"alpine":              off,
		"alpine-3.21":         off,
		"alpine-3.22":         off,
		"alpine-3.23":         off,
		"alpine-iso":          off,
		"apptainer":           off,
		"apptainer-rootful":   off,
		"buildkit":            {"system": false, "user": true},
		"docker":              off,
		"docker-rootful":      off,
		"experimental/gentoo": off,
		"experimental/rke2":   off,
		"experimental/u7s":    off,
		"experimental/wsl2":   {"system": true, "user": false},
		"faasd":               off,
		"k0s":                 off,
		"k3s":                 off,
		"k8s":                 {"system": true, "user": false},
		"linuxbrew":           off,
		"podman":              off,
		"podman-rootful":      off,
	}
	for _, name := range templates.Names() {
		got, _ := parse(t, name)["containerd"].(map[string]any)
		w, ok := want[name]
		if !ok {
			if got != nil {
				t.Errorf("%s.yaml: sets containerd %v; add it to this test", name, got)
			}
			continue
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s.yaml: containerd mismatch (-want +got):\n%s", name, diff)
		}
	}
}
