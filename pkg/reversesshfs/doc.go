// Package reversesshfs mounts host directories in a guest the way Lima's reverse-sshfs mount type
// does: the guest runs `sshfs -o slave` inside an SSH session, and the session's stdin/stdout are
// served by an SFTP server in this process (github.com/pkg/sftp), limited to the mount's host
// directory and read-only unless the mount is writable. No host sftp-server binary is needed.
package reversesshfs
