// Package sshutil is limactl's SSH layer. It runs in-process on golang.org/x/crypto/ssh, so no host
// `ssh`, `scp` or `sftp` binary is needed, and it writes an OpenSSH client config (ssh.config) for
// people and tools (VS Code Remote-SSH) that want to use their own `ssh`.
//
// The pieces:
//   - the user key pair $LIMA_HOME/_config/user{,.pub} (ed25519, created on first use);
//   - the per-instance pinned guest host key <instdir>/ssh_known_hosts, recorded under the
//     host-key alias "lima-NAME" so it survives SSH port changes (see HostKeyAlias);
//   - Dial, a strict client with keepalives;
//   - RunShell, `limactl shell`'s session: PTY, raw mode, window size, exit codes;
//   - WriteSSHConfig and FormatOptions, the ssh.config file and `show-ssh` output.
package sshutil
