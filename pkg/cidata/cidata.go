package cidata

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/iso9660"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

//go:embed boot
var bootFS embed.FS

// Label is the volume label cloud-init's NoCloud datasource looks for.
const Label = "cidata"

const (
	guestAgentName     = "lima-guestagent"
	nerdctlArchiveName = "nerdctl-full.tgz"
)

// Seed is the generated cidata content.
type Seed struct {
	// InstanceID is meta-data's instance-id, also written into the /run markers (see the package doc).
	InstanceID string
	// Files are the volume's files, meta-data first.
	Files []iso9660.File
}

// File returns the content of the named file, or nil (also for files streamed from the host).
func (s *Seed) File(name string) []byte {
	for _, f := range s.Files {
		if f.Path == name {
			return f.Data
		}
	}
	return nil
}

// Generate builds the seed for args. It reads only caCerts.files and checks that the guest agent and
// the nerdctl archive exist (they are referenced by path, File.Source, and streamed when the image is
// written); the result depends on nothing else.
func Generate(args Args) (*Seed, error) {
	a := &args
	if a.Config == nil {
		return nil, errors.New("cidata: no configuration")
	}
	if a.Name == "" {
		return nil, errors.New("cidata: no instance name")
	}
	if len(a.HostKey.Private) == 0 || len(a.HostKey.Public) == 0 {
		return nil, errors.New("cidata: no SSH host key (use EnsureHostKey)")
	}
	if deref(a.Config.User.Name) == "" || a.Config.User.UID == nil {
		return nil, errors.New("cidata: user.name and user.uid are unset; run limayaml.FillDefault first")
	}
	if a.SlirpGateway == "" {
		a.SlirpGateway = DefaultSlirpGateway
	}
	if a.SlirpDNS == "" {
		a.SlirpDNS = DefaultSlirpDNS
	}
	if a.SlirpIPAddress == "" {
		a.SlirpIPAddress = DefaultSlirpIPAddress
	}
	plain := deref(a.Config.Plain)
	mounts := a.Mounts
	if mounts == nil && !plain {
		var err error
		if mounts, err = MountsFromConfig(a.Config); err != nil {
			return nil, err
		}
	}
	if plain {
		mounts = nil
	}
	hostname := Hostname(a.Name)

	ud, err := userData(a, mounts, false)
	if err != nil {
		return nil, err
	}
	nc, err := networkConfigYAML(a)
	if err != nil {
		return nil, err
	}
	var agentDigest string
	if !plain && a.GuestAgentBinary != "" {
		if err := checkSource(a.GuestAgentBinary); err != nil {
			return nil, fmt.Errorf("the guest agent: %w; reinstall limactl or pass another --guestagent", err)
		}
		if agentDigest, err = fileDigest(a.GuestAgentBinary); err != nil {
			return nil, fmt.Errorf("the guest agent: %w", err)
		}
	}
	stableEnv, bootEnv := limaEnv(a, hostname, mounts, agentDigest)

	files := []iso9660.File{
		{Path: "user-data", Data: ud, Mode: 0o400},
		{Path: "network-config", Data: nc, Mode: 0o444},
		{Path: "lima.env", Data: stableEnv, Mode: 0o444},
		{Path: "param.env", Data: paramEnv(a.Config.Param), Mode: 0o444},
		{Path: "etc_environment", Data: etcEnvironment(a), Mode: 0o444},
		{Path: "etc_hosts", Data: etcHosts(a), Mode: 0o444},
	}
	scripts, err := bootScripts(a, plain)
	if err != nil {
		return nil, err
	}
	files = append(files, scripts...)
	files = append(files, provisionFiles(a.Config)...)

	// The instance id covers everything above: it changes when the configuration does, and stays
	// the same across restarts otherwise, so cloud-init does not redo its per-instance work.
	iid := instanceID(hostname, files)
	files[2].Data = append(append([]byte(nil), stableEnv...), bootEnv...)

	if agentDigest != "" {
		files = append(files, iso9660.File{Path: guestAgentName, Source: a.GuestAgentBinary, Mode: 0o755})
	}
	if !plain && a.NerdctlArchive != "" {
		if err := checkSource(a.NerdctlArchive); err != nil {
			return nil, fmt.Errorf("the nerdctl archive: %w", err)
		}
		files = append(files, iso9660.File{Path: nerdctlArchiveName, Source: a.NerdctlArchive, Mode: 0o444})
	}
	meta := fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", iid, hostname)
	files = append([]iso9660.File{{Path: "meta-data", Data: []byte(meta), Mode: 0o444}}, files...)
	return &Seed{InstanceID: iid, Files: files}, nil
}

func instanceID(hostname string, files []iso9660.File) string {
	h := sha256.New()
	fmt.Fprintf(h, "limactl-cidata-v1\x00%s\x00", hostname)
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", f.Path, f.Mode, len(f.Data))
		h.Write(f.Data)
	}
	return "iid-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// bootScripts lists boot.sh, util/, boot.essential.Linux/ and (unless plain) boot.Linux/ from the
// embedded tree plus the driver's scripts, sorted by path.
func bootScripts(a *Args, plain bool) ([]iso9660.File, error) {
	var files []iso9660.File
	err := fs.WalkDir(bootFS, "boot", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "boot/")
		if d.IsDir() {
			if rel == "hook" || (plain && rel == "boot.Linux") {
				return fs.SkipDir
			}
			return nil
		}
		b, err := bootFS.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o755)
		if strings.HasPrefix(rel, "util/") {
			mode = 0o444
		}
		files = append(files, iso9660.File{Path: rel, Data: b, Mode: mode})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cidata: embedded boot scripts: %w", err)
	}
	for p, b := range a.BootScripts {
		if plain && strings.HasPrefix(p, "boot.Linux/") {
			continue
		}
		if path.Clean(p) != p || !strings.HasPrefix(p, "boot.") || strings.Count(p, "/") != 1 {
			return nil, fmt.Errorf("cidata: driver boot script %q: want boot.<OS>/<name>", p)
		}
		files = append(files, iso9660.File{Path: p, Data: b, Mode: 0o755})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// provisionFiles writes each provision entry as provision.<mode>/<index>, index being its position in
// provision[] (so the numbering has gaps across modes, as in Lima). boot entries live in user-data
// and ansible entries run on the host.
func provisionFiles(y *limayaml.LimaYAML) []iso9660.File {
	var files []iso9660.File
	for i, p := range y.Provision {
		name := fmt.Sprintf("%08d", i)
		switch p.Mode {
		case limayaml.ProvisionModeSystem, limayaml.ProvisionModeUser, limayaml.ProvisionModeDependency:
			files = append(files, iso9660.File{Path: "provision." + p.Mode + "/" + name, Data: []byte(deref(p.Script)), Mode: 0o755})
		case limayaml.ProvisionModeData:
			files = append(files, iso9660.File{Path: "provision.data/" + name, Data: []byte(deref(p.Content)), Mode: 0o444})
		case limayaml.ProvisionModeYQ:
			files = append(files, iso9660.File{Path: "provision.yq/" + name, Data: []byte(deref(p.Expression)), Mode: 0o444})
		}
	}
	return files
}

// GenerateISO generates the seed and writes <instDir>/cidata.iso (with atomicfile, so neither a
// running VM nor a crash ever leaves half an image) and <instDir>/cloud-config.yaml (0444, the
// user-data for reference, with the private host key left out).
func GenerateISO(instDir string, args Args) (*Seed, error) {
	seed, err := Generate(args)
	if err != nil {
		return nil, err
	}
	isoPath := filepath.Join(instDir, filenames.CIDataISO)
	if err := writeISO(isoPath, seed); err != nil {
		return nil, fmt.Errorf("cidata: %w", err)
	}
	ref, err := CloudConfig(args)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(instDir, filenames.CloudConfig), ref, 0o444); err != nil {
		return nil, err
	}
	return seed, nil
}

// CloudConfig renders the reference copy of user-data written to cloud-config.yaml: the same document
// with the private host key replaced by a note.
func CloudConfig(args Args) ([]byte, error) {
	a := &args
	mounts := a.Mounts
	if deref(a.Config.Plain) {
		mounts = nil
	} else if mounts == nil {
		var err error
		if mounts, err = MountsFromConfig(a.Config); err != nil {
			return nil, err
		}
	}
	return userData(a, mounts, true)
}

// WriteDir writes the seed as plain files under dir (for drivers without a cidata disk, such as
// wsl2), replacing what was there.
func (s *Seed) WriteDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cidata: clear %s: %w", dir, err)
	}
	for _, f := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("cidata: %w", err)
		}
		data := f.Data
		if f.Source != "" {
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return fmt.Errorf("cidata: %w", err)
			}
			data = b
		}
		if err := os.WriteFile(p, data, f.Mode.Perm()|0o200); err != nil {
			return fmt.Errorf("cidata: %w", err)
		}
	}
	return nil
}

// writeISO writes the seed's ISO image to path with atomicfile, through a buffer.
func writeISO(path string, seed *Seed) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := iso9660.Write(bw, Label, seed.Files); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// fileDigest is the hex SHA-256 of a file's content.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func checkSource(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}
