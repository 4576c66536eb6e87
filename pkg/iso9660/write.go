package iso9660

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

const sectorSize = 2048

// Write writes an ISO 9660 image with Rock Ridge names and modes holding files, with the volume
// identifier label (Linux shows it as the filesystem label: /dev/disk/by-label/<label>). The label is
// written as given, up to 32 bytes; cloud-init's NoCloud wants "cidata".
//
// The whole directory structure is computed first, so w only sees sequential writes.
func Write(w io.Writer, label string, files []File) error {
	if len(label) > 32 {
		return fmt.Errorf("iso9660: volume label %q is longer than 32 bytes", label)
	}
	now := time.Now()
	root, err := buildTree(files, now)
	if err != nil {
		return err
	}
	dirs := dirsInPathTableOrder(root)
	regular := filesInOrder(root, nil)

	// Pass 1: sizes. Record lengths do not depend on extents, so lay out with zero extents first.
	for _, d := range dirs {
		d.size = uint32(len(dirData(d)))
	}
	pt := pathTable(dirs, binary.LittleEndian)
	ptSectors := sectors(len(pt))
	er := suspER()

	// Sector plan: 0-15 system area, 16 PVD, 17 terminator, path tables, directories, the CE area, files.
	next := uint32(18)
	lPT := next
	next += ptSectors
	mPT := next
	next += ptSectors
	for _, d := range dirs {
		d.lba = next
		next += d.size / sectorSize
	}
	// The continuation area follows the directories: streaming readers (libarchive) only accept a CE
	// that points forward of the record that holds it.
	ceLBA := next
	next++
	for _, f := range regular {
		if f.length() >= math.MaxUint32 {
			return fmt.Errorf("%w: %s", errTooLarge, f.name)
		}
		f.size = uint32(f.length())
		if f.size == 0 {
			continue
		}
		f.lba = next
		next += sectors(int(f.size))
	}
	total := next

	var meta bytes.Buffer
	meta.Write(make([]byte, 16*sectorSize))
	meta.Write(pvd(label, root, total, uint32(len(pt)), lPT, mPT, now))
	meta.Write(terminator())
	meta.Write(padSector(pathTable(dirs, binary.LittleEndian)))
	meta.Write(padSector(pathTable(dirs, binary.BigEndian)))
	for _, d := range dirs {
		meta.Write(dirDataWithCE(d, ceLBA, uint32(len(er))))
	}
	meta.Write(padSector(er))
	if _, err := w.Write(meta.Bytes()); err != nil {
		return fmt.Errorf("iso9660: write: %w", err)
	}
	for _, f := range regular {
		if f.size == 0 {
			continue
		}
		if err := writeContent(w, f); err != nil {
			return err
		}
		if pad := int(sectors(int(f.size)))*sectorSize - int(f.size); pad > 0 {
			if _, err := w.Write(make([]byte, pad)); err != nil {
				return fmt.Errorf("iso9660: write: %w", err)
			}
		}
	}
	return nil
}

func sectors(n int) uint32 { return uint32((n + sectorSize - 1) / sectorSize) }

func padSector(b []byte) []byte {
	n := int(sectors(len(b))) * sectorSize
	if n == 0 {
		n = sectorSize
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

func dirData(d *node) []byte { return dirDataWithCE(d, 0, 0) }

// dirDataWithCE returns a directory's extent: ".", "..", then the children, no record crossing a
// sector boundary, padded to whole sectors. The root's "." carries SP and a CE pointing at the ER
// entry, which is too long to fit in the record itself.
func dirDataWithCE(d *node, ceLBA, ceLen uint32) []byte {
	var recs [][]byte
	isRoot := d.parent == d
	var dotSU []byte
	if isRoot {
		dotSU = cat(suspSP(), rrRR(false), rrPX(d), rrTF(d.mtime), suspCE(ceLBA, 0, ceLen))
	} else {
		dotSU = cat(rrRR(false), rrPX(d), rrTF(d.mtime))
	}
	recs = append(recs, dirRecord(d.lba, d.size, d.mtime, true, []byte{0}, dotSU))
	p := d.parent
	recs = append(recs, dirRecord(p.lba, p.size, p.mtime, true, []byte{1}, cat(rrRR(false), rrPX(p), rrTF(p.mtime))))
	for _, c := range d.children {
		su := cat(rrRR(true), rrPX(c), rrTF(c.mtime), rrNM(c.name))
		recs = append(recs, dirRecord(c.lba, c.size, c.mtime, c.dir, []byte(c.ident), su))
	}
	var buf []byte
	for _, r := range recs {
		used := len(buf) % sectorSize
		if used+len(r) > sectorSize {
			buf = append(buf, make([]byte, sectorSize-used)...)
		}
		buf = append(buf, r...)
	}
	if rem := len(buf) % sectorSize; rem != 0 {
		buf = append(buf, make([]byte, sectorSize-rem)...)
	}
	return buf
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// dirRecord encodes one directory record (ISO 9660 9.1) with a system use area.
func dirRecord(extent, size uint32, t time.Time, dir bool, ident, su []byte) []byte {
	n := 33 + len(ident)
	if len(ident)%2 == 0 {
		n++ // padding byte after an even-length identifier
	}
	n += len(su)
	if n%2 == 1 {
		n++
	}
	if n > 255 {
		// Only reachable with names near maxNameLen: buildTree rejects longer ones.
		panic(fmt.Sprintf("iso9660: directory record for %q is %d bytes", ident, n))
	}
	r := make([]byte, 0, n)
	r = append(r, byte(n), 0)
	r = append(r, both733(extent)...)
	r = append(r, both733(size)...)
	r = append(r, isoTime7(t)...)
	flags := byte(0)
	if dir {
		flags = 2
	}
	r = append(r, flags, 0, 0)
	r = append(r, both723(1)...)
	r = append(r, byte(len(ident)))
	r = append(r, ident...)
	if len(ident)%2 == 0 {
		r = append(r, 0)
	}
	r = append(r, su...)
	for len(r) < n {
		r = append(r, 0)
	}
	return r
}

// pathTable encodes the path table (ISO 9660 9.4) in one byte order.
func pathTable(dirs []*node, order binary.ByteOrder) []byte {
	var b []byte
	for _, d := range dirs {
		ident := []byte(d.ident)
		parent := d.parent.dirNum
		if d.parent == d {
			ident = []byte{0}
			parent = 1
		}
		rec := make([]byte, 8, 8+len(ident)+1)
		rec[0] = byte(len(ident))
		order.PutUint32(rec[2:], d.lba)
		order.PutUint16(rec[6:], uint16(parent))
		rec = append(rec, ident...)
		if len(ident)%2 == 1 {
			rec = append(rec, 0)
		}
		b = append(b, rec...)
	}
	return b
}

func pvd(label string, root *node, total, ptSize, lPT, mPT uint32, now time.Time) []byte {
	b := make([]byte, sectorSize)
	b[0] = 1
	copy(b[1:6], "CD001")
	b[6] = 1
	copy(b[8:40], spaces(32))
	copy(b[40:72], padRight(label, 32))
	copy(b[80:88], both733(total))
	copy(b[120:124], both723(1))
	copy(b[124:128], both723(1))
	copy(b[128:132], both723(sectorSize))
	copy(b[132:140], both733(ptSize))
	binary.LittleEndian.PutUint32(b[140:144], lPT)
	binary.BigEndian.PutUint32(b[148:152], mPT)
	copy(b[156:190], dirRecord(root.lba, root.size, root.mtime, true, []byte{0}, nil))
	copy(b[190:318], spaces(128))                           // volume set
	copy(b[318:446], spaces(128))                           // publisher
	copy(b[446:574], spaces(128))                           // data preparer
	copy(b[574:702], padRight("LIMACTL", 128))              // application
	copy(b[702:813], spaces(37*3))                          // copyright, abstract, bibliographic files
	copy(b[813:830], isoTime17(now))                        // creation
	copy(b[830:847], isoTime17(now))                        // modification
	copy(b[847:864], append([]byte("0000000000000000"), 0)) // expiration: none
	copy(b[864:881], append([]byte("0000000000000000"), 0)) // effective: now
	b[881] = 1
	return b
}

func terminator() []byte {
	b := make([]byte, sectorSize)
	b[0] = 255
	copy(b[1:6], "CD001")
	b[6] = 1
	return b
}

func spaces(n int) []byte { return bytes.Repeat([]byte{' '}, n) }

func padRight(s string, n int) []byte {
	b := spaces(n)
	copy(b, s)
	return b
}

func writeContent(w io.Writer, f *node) error {
	if f.source == "" {
		if _, err := w.Write(f.data); err != nil {
			return fmt.Errorf("iso9660: write %s: %w", f.name, err)
		}
		return nil
	}
	src, err := os.Open(f.source)
	if err != nil {
		return fmt.Errorf("iso9660: %w", err)
	}
	defer src.Close()
	n, err := io.Copy(w, io.LimitReader(src, int64(f.size)))
	if err != nil {
		return fmt.Errorf("iso9660: copy %s: %w", f.source, err)
	}
	if n != int64(f.size) {
		return fmt.Errorf("iso9660: %s shrank while the image was written", f.source)
	}
	return nil
}
