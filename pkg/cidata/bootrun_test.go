//go:build linux

package cidata

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/limactl/limactl/pkg/limayaml"
)

// sandboxScript runs boot.sh twice in private mount and pid namespaces: /etc is a copy, /run a
// tmpfs, /dev/console a file, pkill only sees the sandbox and iptables only its network namespace. It copies what the guest would keep
// into $T/out.<n>/.
const sandboxScript = `set -eu
cp -a /etc "$T/etc"
mount --bind "$T/etc" /etc
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/log
: >"$T/console"
mount --bind "$T/console" /dev/console
rm -f /etc/fuse.conf
useradd -u 4242 -d "$T/home" -m -s /bin/sh limatest
for n in 1 2; do
	mkdir -p "$T/out.$n"
	INSTANCE_ID=iid-bootcmd sh "$T/bootcmd.sh" >"$T/out.$n/bootcmd.log" 2>&1
	rc=0
	if [ "$n" = 1 ]; then
		PATH="$T/bin:$PATH" LIMA_CIDATA_MNT="$T/cidata" "$T/cidata/boot.sh" >"$T/out.$n/log" 2>&1 || rc=$?
	else
		# The second boot runs as the lima-boot unit does: the output goes to cloud-init's log and
		# to the console, not to standard output.
		PATH="$T/bin:$PATH" LIMA_CIDATA_MNT="$T/cidata" LIMA_BOOT_UNIT=1 "$T/cidata/boot.sh" >"$T/out.$n/stdout" 2>&1 || rc=$?
		sleep 0.2 # tee drains the fifo
		cp /var/log/cloud-init-output.log "$T/out.$n/log"
	fi
	echo "$rc" >"$T/out.$n/rc"
	cp /etc/environment /etc/hosts /etc/fuse.conf "$T/out.$n/"
	cp /run/lima-* "$T/out.$n/" 2>/dev/null || :
	if command -v iptables >/dev/null; then iptables -t nat -S >"$T/out.$n/nat"; fi
	if [ "$n" = 1 ]; then
		# A second start in the same boot (cloud-init's final stage after the lima-boot unit) does nothing.
		: >"$T/console.before"
		cp "$T/console" "$T/console.before"
		rc=0
		PATH="$T/bin:$PATH" LIMA_CIDATA_MNT="$T/cidata" "$T/cidata/boot.sh" >"$T/out.again.log" 2>&1 || rc=$?
		echo "$rc" >"$T/out.again.rc"
		cmp -s "$T/console" "$T/console.before" || echo changed >"$T/out.again.console"
	fi
	# The next boot: a new boot id.
	rm -rf /run/lima-boot.*
done
`

// TestBootScriptsRun runs the real boot.sh with the real scripts against a sandboxed root: the
// markers, console lines, /etc edits and provisioning must come out right, and a second run (the
// next boot) must leave /etc as the first one did. Needs root and unshare.
func TestBootScriptsRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount namespaces")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed")
	}
	T := t.TempDir()
	a := baseArgs(t)
	y := a.Config
	y.User.Name, y.User.Home, y.User.UID = ptr("limatest"), ptr(T+"/home"), ptr(uint32(4242))
	// The user must reach its home under T.
	for _, d := range []string{T, filepath.Dir(T)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	y.MountType = ptr(limayaml.REVSSHFS)
	y.Mounts = []limayaml.Mount{{Location: "/src", MountPoint: ptr(filepath.Join(T, "mnt", "src")), Writable: ptr(false)}}
	y.HostResolver.Hosts = map[string]string{"db.internal": "10.0.0.5"}
	_, errIPT := exec.LookPath("iptables")
	haveIPT := errIPT == nil
	y.HostResolver.Enabled = ptr(haveIPT)
	y.Env = map[string]string{"FOO": "bar baz"}
	y.Param = map[string]string{"Who": "param world"}
	y.Provision = []limayaml.Provision{
		{Mode: "system", Script: ptr("#!/bin/sh\necho \"system $PARAM_Who\" >>" + T + "/system.txt\n")},
		{Mode: "dependency", Script: ptr("#!/bin/sh\necho dep >>" + T + "/order.txt\n")},
		{Mode: "system", Script: ptr("echo system >>" + T + "/order.txt\n")},
		{Mode: "data", ProvisionData: limayaml.ProvisionData{Path: ptr(T + "/data/motd"), Content: ptr("hello\n"),
			Owner: ptr("root:root"), Permissions: ptr("600"), Overwrite: ptr(true)}},
		{Mode: "data", ProvisionData: limayaml.ProvisionData{Path: ptr(T + "/data/keep"), Content: ptr("new\n"), Overwrite: ptr(false)}},
		{Mode: "yq", Expression: ptr(".a = 1"), Format: ptr("auto"), ProvisionData: limayaml.ProvisionData{Path: ptr(T + "/data/conf.yaml")}},
		{Mode: "system", Script: ptr("#!/bin/sh\nexit 3\n")},
		{Mode: "boot", Script: ptr("echo \"boot $PARAM_Who\" >>" + T + "/boot.txt\n")},
		{Mode: "boot", Script: ptr("#!/bin/sh\nexit 4\n")},
	}
	_, errSudo := exec.LookPath("sudo")
	haveSudo := errSudo == nil
	if haveSudo {
		y.Provision = append(y.Provision, limayaml.Provision{Mode: "user",
			Script: ptr("#!/bin/sh\necho \"$(id -un) $PARAM_Who $HOME\" >>\"$HOME/user.txt\"\n")})
	}
	seed, err := Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.WriteDir(filepath.Join(T, "cidata")); err != nil {
		t.Fatal(err)
	}
	// cloud-init runs bootcmd as one /bin/sh script made of the entries, one after the other.
	bootcmd := "#!/bin/sh\n" + strings.Join(bootCommands(y), "\n")
	if err := os.WriteFile(filepath.Join(T, "bootcmd.sh"), []byte(bootcmd), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, content := range map[string]string{
		"data/keep": "old\n",
		// A stand-in yq that records how it was called and edits the file the way the expression says.
		"bin/yq": "#!/bin/sh\necho \"$@\" >>" + T + "/yq-args.txt\nfor last; do :; done\necho 'a: 1' >\"$last\"\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(T, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(T, p), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(unshare, "-m", "-p", "-n", "-f", "--mount-proc", "sh", "-c", sandboxScript)
	cmd.Env = append(os.Environ(), "T="+T)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(T, p))
		if err != nil {
			t.Errorf("%v", err)
		}
		return string(b)
	}
	iid := seed.InstanceID
	if out := read("out.2/stdout"); out != "" {
		t.Errorf("boot.sh as the lima-boot unit wrote to its standard output: %q", out)
	}
	for _, f := range []string{"out.2/log", "console"} {
		if got := read(f); !strings.Contains(got, "LIMA: running boot.essential.Linux/03-etc-hosts.sh (uptime ") {
			t.Errorf("%s lacks the boot script's progress lines:\n%s", f, got)
		}
	}
	if rc := strings.TrimSpace(read("out.again.rc")); rc != "0" {
		t.Errorf("boot.sh again in the same boot: exit status %s, want 0", rc)
	}
	if log := read("out.again.log"); !strings.Contains(log, "already run in this boot") {
		t.Errorf("boot.sh again in the same boot should say it has nothing to do:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(T, "out.again.console")); err == nil {
		t.Errorf("boot.sh again in the same boot wrote to the console")
	}
	for _, n := range []string{"1", "2"} {
		log := read("out." + n + "/log")
		if rc := strings.TrimSpace(read("out." + n + "/rc")); rc != "1" {
			t.Errorf("run %s: boot.sh exit status %s, want 1 (one provision script fails)\n%s", n, rc, log)
		}
		for _, m := range []string{"lima-ssh-ready", "lima-fuse-ready", "lima-boot-done"} {
			if got := read("out." + n + "/" + m); got != iid+"\n" {
				t.Errorf("run %s: /run/%s = %q, want %q\n%s", n, m, got, iid, log)
			}
		}
		if got, want := read("out."+n+"/lima-boot-failed"), "provision.system/00000006 3\n"; got != want {
			t.Errorf("run %s: /run/lima-boot-failed = %q, want %q", n, got, want)
		}
		env := read("out." + n + "/environment")
		if strings.Count(env, "# BEGIN limactl env\nFOO=\"bar baz\"\n# END limactl env\n") != 1 {
			t.Errorf("run %s: /etc/environment:\n%s", n, env)
		}
		hosts := read("out." + n + "/hosts")
		if strings.Count(hosts, "10.0.0.5 db.internal\n192.168.5.2 host.lima.internal\n") != 1 {
			t.Errorf("run %s: /etc/hosts:\n%s", n, hosts)
		}
		if haveIPT {
			nat := read("out." + n + "/nat")
			for _, want := range []string{
				"-A PREROUTING -j LIMA-DNS\n",
				"-A OUTPUT -j LIMA-DNS\n",
				"-A LIMA-DNS -d 192.168.5.3/32 -p udp -m udp --dport 53 -j DNAT --to-destination 192.168.5.2:40053\n",
				"-A LIMA-DNS -d 192.168.5.3/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 192.168.5.2:40054\n",
			} {
				if strings.Count(nat, want) != 1 {
					t.Errorf("run %s: nat table has %d times %q, want 1:\n%s", n, strings.Count(nat, want), want, nat)
				}
			}
		} else {
			t.Log("iptables not installed: hostResolver DNAT not exercised")
		}
		if got := read("out." + n + "/fuse.conf"); got != "user_allow_other\n" {
			t.Errorf("run %s: /etc/fuse.conf = %q", n, got)
		}
	}
	console := read("console")
	for _, want := range []string{
		"LIMA| boot-start " + iid + "\n",
		"LIMA| ssh-ready " + iid + "\n",
		"LIMA| fuse-ready " + iid + "\n",
		"LIMA| provision dependency 00000001\n",
		"LIMA| provision data 00000003\n",
		"LIMA| provision yq 00000005\n",
		"LIMA| provision system 00000006\n",
		"LIMA| script-failed " + iid + " provision.system/00000006 3\n",
		"LIMA| boot-done " + iid + "\n",
		"LIMA| script-failed iid-bootcmd provision.boot/00000008 4\n",
	} {
		if strings.Count(console, want) != 2 {
			t.Errorf("console has %d times %q, want 2:\n%s", strings.Count(console, want), want, console)
		}
	}
	if got := read("boot.txt"); got != "boot param world\nboot param world\n" {
		t.Errorf("boot provision output %q", got)
	}
	if got := read("system.txt"); got != "system param world\nsystem param world\n" {
		t.Errorf("system provision output %q", got)
	}
	if got := read("order.txt"); got != "dep\nsystem\ndep\nsystem\n" {
		t.Errorf("provision order %q, want dependency before system", got)
	}
	if haveSudo {
		if got, want := read("home/user.txt"), "limatest param world "+T+"/home\n"; got != want+want {
			t.Errorf("user provision wrote %q, want %q twice", got, want)
		}
		if st, err := os.Stat(filepath.Join(T, "home/user.txt")); err == nil && st.Sys() != nil {
			if uid := fileUID(st); uid != 4242 {
				t.Errorf("user provision ran as uid %d, want 4242", uid)
			}
		}
	} else {
		t.Log("sudo not installed: user provisioning not exercised")
	}
	if got := read("data/motd"); got != "hello\n" {
		t.Errorf("data file %q", got)
	}
	if st, err := os.Stat(filepath.Join(T, "data/motd")); err == nil && st.Mode().Perm() != 0o600 {
		t.Errorf("data file mode %o, want 600", st.Mode().Perm())
	}
	if got := read("data/keep"); got != "old\n" {
		t.Errorf("overwrite: false replaced the file: %q", got)
	}
	if got := read("yq-args.txt"); got != "-i .a = 1 "+T+"/data/conf.yaml\n-i .a = 1 "+T+"/data/conf.yaml\n" {
		t.Errorf("yq called as %q", got)
	}
	if st, err := os.Stat(filepath.Join(T, "mnt", "src")); err != nil || !st.IsDir() {
		t.Errorf("reverse-sshfs mount point not created: %v", err)
	}
}

func fileUID(st os.FileInfo) uint32 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Uid
	}
	return 0
}
