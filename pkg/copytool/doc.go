// Package copytool copies files between the host and instances (`limactl copy`) over SFTP on an
// in-process SSH connection: host to guest, guest to host, and guest to guest through the host,
// streamed without a temporary copy. Directories need Recursive; permission bits and modification
// times are kept; symbolic links are followed on the source side, as scp does.
//
// A guest's SFTP server is untrusted. Names from its listings are used only when they are one
// valid path element (validName); host files are written through an *os.Root opened on the target
// directory, new files under a temporary name renamed into place, so that nothing lands outside the
// target and no symbolic link on the host is written through; modes pass through the umask; and
// listings, nesting and file sizes are bounded (copy.go, docs/security.md).
package copytool
