package limayaml

// NerdctlVersion is the nerdctl-full release the default containerd.archives point at.
const NerdctlVersion = "2.3.5"

// DefaultContainerdArchives returns the nerdctl-full archives containerd is installed from when a
// template lists none: the release Lima 2.2 pins, for the two architectures nerdctl publishes a full
// archive for. The digests are those of the release's SHA256SUMS; docs/containerd.md says where
// they were cross-checked. A new slice on every call, so callers may modify it.
func DefaultContainerdArchives() []File {
	const base = "https://github.com/containerd/nerdctl/releases/download/v" + NerdctlVersion + "/nerdctl-full-" + NerdctlVersion
	return []File{
		{
			Location: base + "-linux-amd64.tar.gz",
			Arch:     X8664,
			Digest:   "sha256:b697295c623639734aaab737523c808fd3cc8d3046039fd94fff1744e4c317aa",
		},
		{
			Location: base + "-linux-arm64.tar.gz",
			Arch:     AARCH64,
			Digest:   "sha256:6e4b687f1d138e750a3c8372abc0f81d3d7490b6359c48c0562fc7dfe98859b2",
		},
	}
}

// Enabled reports whether the guest gets containerd (system-wide, rootless or both), and so the
// nerdctl-full archive.
func (c Containerd) Enabled() bool {
	return (c.System != nil && *c.System) || (c.User != nil && *c.User)
}

// ArchivesFor returns the archives that serve arch, in order: those listed for it and those
// listed without an arch.
func ArchivesFor(archives []File, arch Arch) []File {
	var out []File
	for _, f := range archives {
		if f.Arch == "" || f.Arch == arch {
			out = append(out, f)
		}
	}
	return out
}
