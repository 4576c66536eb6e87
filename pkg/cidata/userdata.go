package cidata

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/limayaml"
)

// BootHookPath is where cloud-init writes the per-boot hook that mounts cidata and runs boot.sh.
const BootHookPath = "/var/lib/cloud/scripts/per-boot/00-lima.boot.sh"

// The #cloud-config document. Field order is output order, so the golden files stay stable.
type cloudConfig struct {
	Growpart                growpart    `yaml:"growpart"`
	Users                   []cloudUser `yaml:"users"`
	SSHDeleteKeys           bool        `yaml:"ssh_deletekeys"`
	SSHKeys                 sshKeys     `yaml:"ssh_keys"`
	ManageEtcHosts          string      `yaml:"manage_etc_hosts"`
	Timezone                string      `yaml:"timezone,omitempty"`
	CACerts                 *caCerts    `yaml:"ca_certs,omitempty"`
	PackageUpdate           bool        `yaml:"package_update,omitempty"`
	PackageUpgrade          bool        `yaml:"package_upgrade,omitempty"`
	PackageRebootIfRequired bool        `yaml:"package_reboot_if_required,omitempty"`
	Mounts                  [][]string  `yaml:"mounts,omitempty"`
	Bootcmd                 []string    `yaml:"bootcmd,omitempty"`
	WriteFiles              []writeFile `yaml:"write_files"`
}

type growpart struct {
	Mode    string   `yaml:"mode"`
	Devices []string `yaml:"devices,flow"`
}

type cloudUser struct {
	Name              string   `yaml:"name"`
	UID               uint32   `yaml:"uid"`
	Gecos             string   `yaml:"gecos,omitempty"`
	Homedir           string   `yaml:"homedir"`
	Shell             string   `yaml:"shell"`
	Sudo              string   `yaml:"sudo,omitempty"`
	LockPasswd        bool     `yaml:"lock_passwd"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

type sshKeys struct {
	Ed25519Private string `yaml:"ed25519_private"`
	Ed25519Public  string `yaml:"ed25519_public"`
}

type caCerts struct {
	RemoveDefaults bool     `yaml:"remove_defaults"`
	Trusted        []string `yaml:"trusted,omitempty"`
}

type writeFile struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Content     string `yaml:"content"`
}

// userData renders the #cloud-config. redactKey replaces the private host key, for cloud-config.yaml.
func userData(a *Args, mounts []Mount, redactKey bool) ([]byte, error) {
	y := a.Config
	cc := cloudConfig{
		Growpart:      growpart{Mode: "auto", Devices: []string{"/"}},
		SSHDeleteKeys: true,
		SSHKeys: sshKeys{
			Ed25519Private: string(a.HostKey.Private),
			Ed25519Public:  strings.TrimSpace(string(a.HostKey.Public)),
		},
		ManageEtcHosts: "localhost",
		Timezone:       deref(y.TimeZone),
	}
	if redactKey {
		cc.SSHKeys.Ed25519Private = "not shown here, see " + HostKeyFile + " in the instance directory"
	}
	u := cloudUser{
		Name:              deref(y.User.Name),
		UID:               deref(y.User.UID),
		Gecos:             deref(y.User.Comment),
		Homedir:           deref(y.User.Home),
		Shell:             deref(y.User.Shell),
		LockPasswd:        true,
		SSHAuthorizedKeys: append([]string{}, a.SSHPubKeys...),
	}
	if deref(y.User.PasswordlessSudo) {
		u.Sudo = "ALL=(ALL) NOPASSWD:ALL"
	}
	cc.Users = []cloudUser{u}

	ca, err := caCertificates(y.CACertificates)
	if err != nil {
		return nil, err
	}
	cc.CACerts = ca

	if deref(y.UpgradePackages) {
		cc.PackageUpdate, cc.PackageUpgrade, cc.PackageRebootIfRequired = true, true, true
	}
	for _, m := range mounts {
		if m.Type == limayaml.NINEP || m.Type == limayaml.VIRTIOFS {
			cc.Mounts = append(cc.Mounts, []string{m.Tag, m.MountPoint, m.Type, m.Options, "0", "0"})
		}
	}
	cc.Bootcmd = bootCommands(y)
	if !cc.PackageUpgrade {
		// With upgradePackages, the first boot's package upgrade runs in cloud-init's final stage
		// and the boot scripts must come after it, so they stay there.
		cc.Bootcmd = append(cc.Bootcmd, earlyBootCommand)
	}

	hook, err := bootFS.ReadFile("boot/hook/00-lima.boot.sh")
	if err != nil {
		return nil, err
	}
	cc.WriteFiles = []writeFile{{Path: BootHookPath, Owner: "root:root", Permissions: "0755", Content: string(hook)}}

	var buf bytes.Buffer
	buf.WriteString("#cloud-config\n")
	buf.WriteString("# Written by limactl. The pinned host key, the user and the per-boot hook below are what\n")
	buf.WriteString("# make the guest reachable; everything else runs from the cidata volume on every boot.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cc); err != nil {
		return nil, fmt.Errorf("encode user-data: %w", err)
	}
	return buf.Bytes(), nil
}

// caCertificates reads caCerts.files (PEM files on the host) and appends caCerts.certs.
func caCertificates(c limayaml.CACertificates) (*caCerts, error) {
	out := &caCerts{RemoveDefaults: deref(c.RemoveDefaults)}
	for _, f := range c.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("caCerts.files: %w; fix or remove the entry in lima.yaml", err)
		}
		out.Trusted = append(out.Trusted, strings.TrimSpace(string(b))+"\n")
	}
	for _, c := range c.Certs {
		out.Trusted = append(out.Trusted, strings.TrimSpace(c)+"\n")
	}
	if !out.RemoveDefaults && len(out.Trusted) == 0 {
		return nil, nil
	}
	return out, nil
}

// earlyBootCommand is the bootcmd entry that runs the boot scripts as soon as cloud-init's init stage
// is done (the user, its keys, the network and the mounts exist: the same point at which sshd
// starts), instead of waiting for cloud-init's config and final stages (about 12 s under TCG on
// every boot). cloud-init runs bootcmd inside its init stage, so it cannot run them itself: it
// queues a transient systemd unit, which systemd starts after that stage (a default dependency on
// basic.target, itself after cloud-init.service; cloud-init-network.service is the stage's name
// since cloud-init 24.3). The final stage's per-boot hook runs them as before when this did not
// happen (no systemd, or systemd-run refused the unit); boot.sh runs once per boot, whichever comes
// first. Nice=-10 puts Lima's own scripts ahead of cloud-init's config and final stages, which
// run beside them and otherwise take most of an emulated CPU (boot.sh goes back to nice 0 for the
// provisioning scripts). KillMode=process leaves what the scripts start in the background alive, and
// TasksMax=infinity lets them start as many as they like, as cloud-final's unit does. A oneshot unit has no start timeout, so a long provisioning script is not killed.
const earlyBootCommand = `if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then ` +
	`systemd-run --no-block --quiet --unit=lima-boot --description="limactl boot scripts" ` +
	`--property=Type=oneshot --property=KillMode=process --property=TasksMax=infinity --property=Nice=-10 ` +
	`--property=After=cloud-init.service --property=After=cloud-init-network.service ` +
	`--setenv=LIMA_BOOT_UNIT=1 /bin/sh ` + BootHookPath + ` || :; fi`

// bootCommands turns `mode: boot` provisions into bootcmd entries. cloud-init runs bootcmd early on
// every boot with /bin/sh; each entry writes the script under /run and runs it (its own shebang, or sh)
// with the params exported. cloud-init sets INSTANCE_ID for bootcmd.
func bootCommands(y *limayaml.LimaYAML) []string {
	var exports strings.Builder
	keys := make([]string, 0, len(y.Param))
	for k := range y.Param {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&exports, "export PARAM_%s=%s\n", k, shellQuote(y.Param[k]))
	}
	var cmds []string
	for i, p := range y.Provision {
		if p.Mode != limayaml.ProvisionModeBoot {
			continue
		}
		script := deref(p.Script)
		if !strings.HasSuffix(script, "\n") {
			script += "\n"
		}
		eof := "LIMA_BOOT_PROVISION_EOF"
		for strings.Contains(script, eof) {
			eof += "_"
		}
		file := fmt.Sprintf("/run/lima-boot-provision/%08d", i)
		var b strings.Builder
		fmt.Fprintf(&b, "mkdir -p /run/lima-boot-provision\n")
		fmt.Fprintf(&b, "cat >%s <<'%s'\n%s%s\n", file, eof, script, eof)
		fmt.Fprintf(&b, "chmod 700 %s\n", file)
		fmt.Fprintf(&b, "(\n%s%s\n) || echo \"LIMA| script-failed ${INSTANCE_ID:-} provision.boot/%08d $?\" >>/dev/console 2>/dev/null || :\n", exports.String(), file, i)
		cmds = append(cmds, b.String())
	}
	return cmds
}
