package limatmpl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// embedCase merges the template "tmpl" (saved as template.yaml) with the files in bases, all in
// one temporary directory, and expects want (or an error containing wantErr).
type embedCase struct {
	name    string
	tmpl    string
	bases   map[string]string
	want    string
	wantErr string
}

var embedCases = []embedCase{
	{
		name:  "empty base",
		tmpl:  "base: base.yaml\ncpus: 2\n",
		bases: map[string]string{"base.yaml": ""},
		want:  "cpus: 2\n",
	},
	{
		name:  "template scalars win, base fills missing keys",
		tmpl:  "base: base.yaml\narch: aarch64\n",
		bases: map[string]string{"base.yaml": "arch: x86_64\nvmType: vz\n"},
		want:  "arch: aarch64\nvmType: vz\n",
	},
	{
		name:  "null in the template is filled by the base",
		tmpl:  "base: base.yaml\ncpus: null\nmemory: ~\n",
		bases: map[string]string{"base.yaml": "cpus: 4\nmemory: 8GiB\n"},
		want:  "cpus: 4\nmemory: 8GiB\n",
	},
	{
		name:  "nested mappings merge key by key",
		tmpl:  "base: base.yaml\nssh:\n  localPort: 2222\n",
		bases: map[string]string{"base.yaml": "ssh:\n  localPort: 60022\n  forwardAgent: true\n"},
		want:  "ssh:\n  localPort: 2222\n  forwardAgent: true\n",
	},
	{
		name:  "deeply nested mappings",
		tmpl:  "base: base.yaml\nvmOpts:\n  qemu:\n    cpuType:\n      x86_64: host\n",
		bases: map[string]string{"base.yaml": "vmOpts:\n  qemu:\n    cpuType:\n      x86_64: max\n      aarch64: max\n  vz:\n    diskImageFormat: raw\n"},
		want:  "vmOpts:\n  qemu:\n    cpuType:\n      x86_64: host\n      aarch64: max\n  vz:\n    diskImageFormat: raw\n",
	},
	{
		name:  "maps such as env and param merge",
		tmpl:  "base: base.yaml\nenv:\n  A: t\nparam:\n  X: t\n",
		bases: map[string]string{"base.yaml": "env:\n  A: b\n  B: b\nparam:\n  Y: b\n"},
		want:  "env:\n  A: t\n  B: b\nparam:\n  X: t\n  Y: b\n",
	},
	{
		name:  "lists are appended",
		tmpl:  "base: base.yaml\nimages:\n- location: t.img\n",
		bases: map[string]string{"base.yaml": "images:\n- location: b1.img\n- location: b2.img\n"},
		want:  "images:\n- location: t.img\n- location: b1.img\n- location: b2.img\n",
	},
	{
		name:  "nested lists are appended",
		tmpl:  "base: base.yaml\ncontainerd:\n  archives:\n  - location: t.tgz\n",
		bases: map[string]string{"base.yaml": "containerd:\n  system: true\n  archives:\n  - location: b.tgz\n"},
		want:  "containerd:\n  archives:\n  - location: t.tgz\n  - location: b.tgz\n  system: true\n",
	},
	{
		name:  "list only in the base is copied",
		tmpl:  "base: base.yaml\ncpus: 1\n",
		bases: map[string]string{"base.yaml": "portForwards:\n- guestPort: 80\n  hostPort: 8080\n"},
		want:  "cpus: 1\nportForwards:\n- guestPort: 80\n  hostPort: 8080\n",
	},
	{
		name:  "provision entries of the base come first",
		tmpl:  "base: base.yaml\nprovision:\n- mode: user\n  script: t\n",
		bases: map[string]string{"base.yaml": "provision:\n- mode: system\n  script: b\n"},
		want:  "provision:\n- mode: system\n  script: b\n- mode: user\n  script: t\n",
	},
	{
		name:  "probes of the base come first",
		tmpl:  "base: base.yaml\nprobes:\n- script: t\n",
		bases: map[string]string{"base.yaml": "probes:\n- script: b1\n- script: b2\n"},
		want:  "probes:\n- script: b1\n- script: b2\n- script: t\n",
	},
	{
		name:  "portForwards of the base come after",
		tmpl:  "base: base.yaml\nportForwards:\n- guestPort: 1\n",
		bases: map[string]string{"base.yaml": "portForwards:\n- guestPort: 2\n"},
		want:  "portForwards:\n- guestPort: 1\n- guestPort: 2\n",
	},
	{
		name:  "dns of the base is dropped when the template has some",
		tmpl:  "base: base.yaml\ndns:\n- 1.1.1.1\n",
		bases: map[string]string{"base.yaml": "dns:\n- 8.8.8.8\n"},
		want:  "dns:\n- 1.1.1.1\n",
	},
	{
		name:  "dns of the base is used when the template has none",
		tmpl:  "base: base.yaml\ndns: []\n",
		bases: map[string]string{"base.yaml": "dns:\n- 8.8.8.8\n- 8.8.4.4\n"},
		want:  "dns:\n- 8.8.8.8\n- 8.8.4.4\n",
	},
	{
		name:  "mountTypesUnsupported is concatenated without duplicates",
		tmpl:  "base: base.yaml\nmountTypesUnsupported: [9p, reverse-sshfs]\n",
		bases: map[string]string{"base.yaml": "mountTypesUnsupported: [virtiofs, 9p]\n"},
		want:  "mountTypesUnsupported: [9p, reverse-sshfs, virtiofs]\n",
	},
	{
		name:  "minimumLimaVersion keeps the highest",
		tmpl:  "base: base.yaml\nminimumLimaVersion: 1.0.0\n",
		bases: map[string]string{"base.yaml": "minimumLimaVersion: 2.1.0\n"},
		want:  "minimumLimaVersion: 2.1.0\n",
	},
	{
		name:  "minimumLimaVersion of the template stays when higher",
		tmpl:  "base: base.yaml\nminimumLimaVersion: 2.0.0\n",
		bases: map[string]string{"base.yaml": "minimumLimaVersion: 2.0.0-beta.1\n"},
		want:  "minimumLimaVersion: 2.0.0\n",
	},
	{
		name:  "vmOpts.qemu.minimumVersion keeps the highest",
		tmpl:  "base: base.yaml\nvmOpts:\n  qemu:\n    minimumVersion: 8.2.1\n",
		bases: map[string]string{"base.yaml": "vmOpts:\n  qemu:\n    minimumVersion: 9.0.0\n"},
		want:  "vmOpts:\n  qemu:\n    minimumVersion: 9.0.0\n",
	},
	{
		name:  "comments of the template are kept and new keys bring theirs",
		tmpl:  "# My template\nbase: base.yaml\n# CPUs\ncpus: 2 # two\n",
		bases: map[string]string{"base.yaml": "cpus: 8\n# The disk\ndisk: 50GiB # fifty\n"},
		want:  "# My template\n\n# CPUs\ncpus: 2 # two\n# The disk\ndisk: 50GiB # fifty\n",
	},
	{
		name:  "comments inside appended list entries are kept",
		tmpl:  "base: base.yaml\nmounts:\n- location: /t\n",
		bases: map[string]string{"base.yaml": "mounts:\n# the base mount\n- location: /b # bee\n  writable: true\n"},
		want:  "mounts:\n- location: /t\n# the base mount\n- location: /b # bee\n  writable: true\n",
	},
	{
		name: "several bases: earlier ones win",
		tmpl: "base: [a.yaml, b.yaml]\ncpus: 1\n",
		bases: map[string]string{
			"a.yaml": "cpus: 2\nmemory: 2GiB\n",
			"b.yaml": "cpus: 3\nmemory: 3GiB\ndisk: 3GiB\n",
		},
		want: "cpus: 1\nmemory: 2GiB\ndisk: 3GiB\n",
	},
	{
		name: "several bases: list order",
		tmpl: "base:\n- a.yaml\n- b.yaml\nimages:\n- location: t\nprovision:\n- script: t\n",
		bases: map[string]string{
			"a.yaml": "images:\n- location: a\nprovision:\n- script: a\n",
			"b.yaml": "images:\n- location: b\nprovision:\n- script: b\n",
		},
		want: "images:\n- location: t\n- location: a\n- location: b\nprovision:\n- script: b\n- script: a\n- script: t\n",
	},
	{
		name: "bases of bases are merged recursively",
		tmpl: "base: a.yaml\ncpus: 1\n",
		bases: map[string]string{
			"a.yaml": "base: b.yaml\nmemory: 1GiB\n",
			"b.yaml": "base: c.yaml\nmemory: 2GiB\ndisk: 2GiB\n",
			"c.yaml": "disk: 3GiB\nvmType: qemu\n",
		},
		want: "cpus: 1\nmemory: 1GiB\ndisk: 2GiB\nvmType: qemu\n",
	},
	{
		name: "a base nested in a base comes before the next base",
		tmpl: "base: [a.yaml, c.yaml]\n",
		bases: map[string]string{
			"a.yaml": "base: b.yaml\n",
			"b.yaml": "os: FreeBSD\n",
			"c.yaml": "os: Linux\narch: riscv64\n",
		},
		want: "os: FreeBSD\narch: riscv64\n",
	},
	{
		name: "a base used twice is merged once",
		tmpl: "base: [a.yaml, b.yaml]\n",
		bases: map[string]string{
			"a.yaml":      "base: common.yaml\n",
			"b.yaml":      "base: common.yaml\n",
			"common.yaml": "provision:\n- script: common\n",
		},
		want: "provision:\n- script: common\n",
	},
	{
		name:  "base given as {url}",
		tmpl:  "base:\n- url: base.yaml\ncpus: 1\n",
		bases: map[string]string{"base.yaml": "memory: 1GiB\n"},
		want:  "cpus: 1\nmemory: 1GiB\n",
	},
	{
		name:    "base with a digest is rejected",
		tmpl:    "base:\n- url: base.yaml\n  digest: sha256:0000\n",
		bases:   map[string]string{"base.yaml": "cpus: 1\n"},
		wantErr: "not yet supported",
	},
	{
		name: "base loop",
		tmpl: "base: a.yaml\n",
		bases: map[string]string{
			"a.yaml": "base: b.yaml\n",
			"b.yaml": "base: a.yaml\n",
		},
		wantErr: "a.yaml -> ",
	},
	{
		name:    "a base including the template itself",
		tmpl:    "base: template.yaml\n",
		wantErr: "base template loop",
	},
	{
		name:    "missing base",
		tmpl:    "base: nope.yaml\n",
		wantErr: "cannot read base \"nope.yaml\"",
	},
	{
		name:    "a base that is not a mapping",
		tmpl:    "base: a.yaml\n",
		bases:   map[string]string{"a.yaml": "- 1\n- 2\n"},
		wantErr: "must be a YAML mapping",
	},
	{
		name: "relative bases are resolved against the base's own directory",
		tmpl: "base: sub/a.yaml\n",
		bases: map[string]string{
			"sub/a.yaml":   "base: ../other/b.yaml\ncpus: 1\n",
			"other/b.yaml": "base: c.yaml\nmemory: 1GiB\n",
			"other/c.yaml": "disk: 1GiB\n",
		},
		want: "cpus: 1\nmemory: 1GiB\ndisk: 1GiB\n",
	},
	{
		name: "file: scripts are inlined, relative to their own template",
		tmpl: "base: sub/a.yaml\nprovision:\n- mode: user\n  file: t.sh\n",
		bases: map[string]string{
			"t.sh":         "#!/bin/sh\necho t\n",
			"sub/a.yaml":   "provision:\n- mode: system\n  file:\n    url: a.sh\nprobes:\n- file: probe.sh\n",
			"sub/a.sh":     "#!/bin/sh\necho a\n",
			"sub/probe.sh": "#!/bin/sh\ntrue\n",
		},
		want: "provision:\n- mode: system\n  script: |\n    #!/bin/sh\n    echo a\n- mode: user\n  script: |\n    #!/bin/sh\n    echo t\nprobes:\n- script: |\n    #!/bin/sh\n    true\n",
	},
	{
		name: "file: for data and yq provisioning fills content and expression",
		tmpl: "provision:\n- mode: data\n  path: /etc/motd\n  file: motd\n- mode: yq\n  path: /etc/x.yaml\n  file: x.yq\n",
		bases: map[string]string{
			"motd": "hello\n",
			"x.yq": ".a = 1",
		},
		want: "provision:\n- mode: data\n  path: /etc/motd\n  content: |\n    hello\n- mode: yq\n  path: /etc/x.yaml\n  expression: .a = 1\n",
	},
	{
		name:    "file: together with script is rejected",
		tmpl:    "provision:\n- script: echo\n  file: x.sh\n",
		bases:   map[string]string{"x.sh": "echo\n"},
		wantErr: "both file and script",
	},
	{
		name:    "file: with a digest is rejected",
		tmpl:    "probes:\n- file:\n    url: x.sh\n    digest: sha256:00\n",
		wantErr: "not yet supported",
	},
	{
		name:  "additionalDisks with the same name are combined",
		tmpl:  "base: base.yaml\nadditionalDisks:\n- data\n- name: logs\n  format: false\n",
		bases: map[string]string{"base.yaml": "additionalDisks:\n- name: data\n  fsType: xfs\n  format: true\n- name: logs\n  format: true\n  fsType: ext4\n"},
		want:  "additionalDisks:\n- name: data\n  fsType: xfs\n  format: true\n- name: logs\n  format: false\n  fsType: ext4\n",
	},
	{
		name:  "additionalDisks wildcard fills every disk",
		tmpl:  "base: base.yaml\nadditionalDisks:\n- name: a\n- name: b\n  fsType: xfs\n",
		bases: map[string]string{"base.yaml": "additionalDisks:\n- name: \"*\"\n  fsType: ext4\n  format: false\n- name: c\n"},
		want:  "additionalDisks:\n- name: a\n  fsType: ext4\n  format: false\n- name: b\n  fsType: xfs\n  format: false\n- name: c\n  fsType: ext4\n  format: false\n",
	},
	{
		name:  "mounts with the same location are combined, the template winning",
		tmpl:  "base: base.yaml\nmounts:\n- location: \"~\"\n  writable: true\n",
		bases: map[string]string{"base.yaml": "mounts:\n- location: \"~\"\n  writable: false\n  sshfs:\n    cache: false\n- location: /tmp/lima\n  writable: true\n"},
		want:  "mounts:\n- location: \"~\"\n  writable: true\n  sshfs:\n    cache: false\n- location: /tmp/lima\n  writable: true\n",
	},
	{
		name:  "mounts are keyed by mountPoint when set",
		tmpl:  "base: base.yaml\nmounts:\n- location: /host/a\n  mountPoint: /mnt/x\n- location: /mnt/y\n",
		bases: map[string]string{"base.yaml": "mounts:\n- location: /host/b\n  mountPoint: /mnt/x\n  writable: true\n- location: /host/c\n  mountPoint: /mnt/y\n  9p:\n    cache: mmap\n"},
		want:  "mounts:\n- location: /host/a\n  mountPoint: /mnt/x\n  writable: true\n- location: /mnt/y\n  mountPoint: /mnt/y\n  9p:\n    cache: mmap\n",
	},
	{
		name:  "mounts wildcard",
		tmpl:  "base: base.yaml\nmounts:\n- location: /a\n  9p:\n    msize: 256KiB\n- location: /b\n  writable: false\n",
		bases: map[string]string{"base.yaml": "mounts:\n- location: \"*\"\n  writable: true\n  9p:\n    cache: mmap\n"},
		want:  "mounts:\n- location: /a\n  9p:\n    msize: 256KiB\n    cache: mmap\n  writable: true\n- location: /b\n  writable: false\n  9p:\n    cache: mmap\n",
	},
	{
		name:  "networks with the same interface are combined; unnamed ones are kept apart",
		tmpl:  "base: base.yaml\nnetworks:\n- lima: shared\n  interface: lima0\n- vzNAT: true\n",
		bases: map[string]string{"base.yaml": "networks:\n- lima: bridged\n  interface: lima0\n  metric: 50\n- vzNAT: true\n"},
		want:  "networks:\n- lima: shared\n  interface: lima0\n  metric: 50\n- vzNAT: true\n- vzNAT: true\n",
	},
	{
		name:  "networks wildcard does not add a second kind of network",
		tmpl:  "base: base.yaml\nnetworks:\n- lima: shared\n- interface: eth1\n",
		bases: map[string]string{"base.yaml": "networks:\n- interface: \"*\"\n  metric: 10\n  socket: /var/run/x.sock\n"},
		want:  "networks:\n- lima: shared\n  metric: 10\n- interface: eth1\n  metric: 10\n  socket: /var/run/x.sock\n",
	},
	{
		name: "template: bases and the embedded mounts template",
		tmpl: "base: template:_default/mounts\nmounts:\n- location: /tmp/lima\n  writable: false\n",
		want: "mounts:\n- location: /tmp/lima\n  writable: false\n- location: \"~\"\n",
	},
	{
		name:    "a base object needs a url",
		tmpl:    "base: {a: 1}\n",
		wantErr: "locator object has no url",
	},
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEmbed(t *testing.T) {
	if len(embedCases) < 30 {
		t.Fatalf("keep at least 30 merge cases, have %d", len(embedCases))
	}
	for _, c := range embedCases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LIMA_HOME", t.TempDir())
			t.Setenv("LIMA_TEMPLATES_PATH", "")
			dir := t.TempDir()
			writeFiles(t, dir, c.bases)
			writeFiles(t, dir, map[string]string{"template.yaml": c.tmpl})
			tmpl, err := Read(context.Background(), "", filepath.Join(dir, "template.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			err = tmpl.Embed(context.Background(), true, true)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want an error containing %q, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, string(tmpl.Bytes)); diff != "" {
				t.Errorf("merged template (-want +got):\n%s", diff)
			}
		})
	}
}
