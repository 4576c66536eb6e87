// Package copytool copies files between the host and instances (`limactl copy`) over SFTP on an
// in-process SSH connection: host to guest, guest to host, and guest to guest through the host,
// streamed without a temporary copy. Directories need Recursive; permission bits and modification
// times are kept; symbolic links are followed, as scp does.
package copytool
