// Package reversesshfs mounts host directories in a guest the way Lima's reverse-sshfs mount type
// does: the guest runs `sshfs -o slave` inside an SSH session, and the session's stdin/stdout are
// served by an SFTP server in this process (Server, SFTP version 3), which reaches the mount's host
// directory only through an os.Root and is read-only unless the mount is writable. The guest is
// untrusted: every request is input from an attacker (see Server). No host sftp-server binary is
// needed; OpenSSH's can be used instead (sshfs.sftpDriver).
package reversesshfs
