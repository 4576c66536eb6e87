// Package cidata generates an instance's cloud-init NoCloud seed (cidata.iso, label "cidata") and holds
// the guest boot scripts that run from it on every boot.
//
// # Volume content
//
//	meta-data        instance-id, local-hostname (Hostname)
//	user-data        #cloud-config: growpart, the user (uid, home, shell, sudo, authorized keys), the
//	                 pinned ed25519 host key (ssh_keys + ssh_deletekeys: cloud-init generates no keys then),
//	                 manage_etc_hosts: localhost, timezone, ca_certs, package upgrade, 9p/virtiofs
//	                 mounts, bootcmd for `mode: boot` provisions, and write_files of the per-boot hook
//	                 /var/lib/cloud/scripts/per-boot/00-lima.boot.sh (mounts the volume read-only and
//	                 root-only at /mnt/lima-cidata, then execs boot.sh)
//	network-config   v2: eth0 (the user-mode NIC, matched by MAC, DHCP, metric 200; dns: when
//	                 hostResolver is off) and every networks[] NIC; all `optional: true` when
//	                 param.internal_netplanOptional is "true" (Lima's Ubuntu 26.04 template)
//	lima.env         LIMA_CIDATA_* variables (sh-sourceable) for the scripts; the last block, the host
//	                 agent's DNS ports, may change on every start
//	param.env        PARAM_<key>='value' for every param
//	etc_environment  env plus propagated proxy variables, merged into /etc/environment
//	etc_hosts        hostResolver.hosts with host.lima.internal, merged into /etc/hosts
//	boot.sh, util/lib.sh, boot.essential.Linux/*, boot.Linux/* (embedded from boot/), driver scripts
//	provision.{dependency,system,user,data,yq}/NNNNNNNN (NNNNNNNN = index in provision[])
//	lima-guestagent, nerdctl-full.tgz when given
//
// # Instance id
//
// "iid-" + 16 hex digits of a SHA-256 over the hostname and every file above except the per-boot DNS
// ports, the guest agent and the nerdctl archive. The same configuration gives the same id on every
// start, so cloud-init treats a restart as a reboot of the same instance and skips its per-instance
// work; any change to the configuration, the scripts or the host's proxy variables gives a new id.
//
// # Readiness markers and console lines (for the host agent)
//
// boot.sh and its scripts run as root on every boot, once: from the transient unit lima-boot.service
// that the user-data's last bootcmd entry queues (systemd starts it when cloud-init's init stage is
// done, beside sshd), or from cloud-init's final stage (the per-boot hook) where that unit did not
// run (no systemd; upgradePackages). boot.sh claims /run/lima-boot.<boot id> first; the second
// caller in a boot exits 0. They write these files
// in /run (a tmpfs, so nothing survives a reboot), each holding the instance id and a newline:
//
//	/run/lima-ssh-ready   /etc/environment is final and sessions opened before were ended:
//	                      a new SSH session gets the right environment (boot.essential.Linux/05)
//	/run/lima-fuse-ready  /etc/fuse.conf has user_allow_other (boot.Linux/04; not in plain mode)
//	/run/lima-boot-done   every script and provision step has run, unless /run/lima-reboot-required
//	                      exists (then it is not written)
//	/run/lima-containerd-ready  the nerdctl-full archive is installed and the system and/or rootless
//	                      containerd run (boot.Linux/40; only when containerd is enabled)
//
// /run/lima-containerd-failed instead says which containerd step failed and for which archive.
//
// /run/lima-boot-failed lists the scripts that failed, one "<path> <exit status>" per line; it is
// removed at the start of each boot.sh run, and boot-done is still written after failures.
//
// Each step is also announced as one line on /dev/console (the kernel console: serial.log under
// qemu with console=ttyS0, the virtio console under vz), so the host agent can follow start-up from
// the console log without polling:
//
//	LIMA| boot-start <iid>
//	LIMA| ssh-ready <iid>
//	LIMA| fuse-ready <iid>
//	LIMA| provision <mode> <NNNNNNNN>          mode: dependency, data, yq, system, user
//	LIMA| script-failed <iid> <path> <status>  path relative to the volume, e.g. boot.Linux/10-mounts.sh;
//	                                           for boot provisions: provision.boot/NNNNNNNN (from bootcmd)
//	LIMA| containerd-install <iid> <archive>   the archive is being extracted (not when already installed)
//	LIMA| containerd-ready <iid>
//	LIMA| reboot-required <iid>
//	LIMA| boot-done <iid>
//
// The same text (with "LIMA: " instead of "LIMA| ") goes to /var/log/cloud-init-output.log.
//
// # Mount tags
//
// A 9p or virtiofs share is exported and mounted under MountTag(location, mountPoint): "lima-" + the
// first 8 hex digits of sha256(location + ":" + mountPoint), shared with the qemu plan
// (driver.MountTag). user-data lists the shares under cloud-init's mounts: for cloud-init versions
// that accept such tags, but boot.Linux/10-mounts.sh mounts whatever is not mounted on every boot:
// cloud-init 22.4 ignores a mounts: entry whose device is neither a block device nor host:path.
package cidata
