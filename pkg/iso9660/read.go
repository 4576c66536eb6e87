package iso9660

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Read parses an image (as Write produces, or any ISO 9660 image with or without Rock Ridge) and
// returns its volume label and its regular files in directory order, with Rock Ridge names and modes
// when present. Directories are implied by the paths. It is meant for tests and diagnostics.
func Read(r io.ReaderAt) (label string, files []File, err error) {
	pvd := make([]byte, sectorSize)
	if _, err := r.ReadAt(pvd, 16*sectorSize); err != nil {
		return "", nil, fmt.Errorf("iso9660: read volume descriptor: %w", err)
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		return "", nil, errors.New("iso9660: no primary volume descriptor at sector 16")
	}
	label = strings.TrimRight(string(pvd[40:72]), " ")
	rd := &reader{r: r}
	rootRec := pvd[156:190]
	rootLBA := binary.LittleEndian.Uint32(rootRec[2:6])
	rootSize := binary.LittleEndian.Uint32(rootRec[10:14])
	// Rock Ridge is on when the root's "." starts its system use area with SP.
	first, err := rd.extent(rootLBA, rootSize)
	if err != nil {
		return "", nil, err
	}
	if len(first) > 34 && first[0] >= 34 {
		dot := first[:first[0]]
		su := dot[34:]
		if len(su) >= 7 && string(su[0:2]) == "SP" && su[4] == 0xBE && su[5] == 0xEF {
			rd.rock = true
		}
	}
	if err := rd.walk(rootLBA, rootSize, "", 0); err != nil {
		return "", nil, err
	}
	return label, rd.files, nil
}

type reader struct {
	r     io.ReaderAt
	rock  bool
	files []File
}

func (rd *reader) extent(lba, size uint32) ([]byte, error) {
	b := make([]byte, size)
	if _, err := rd.r.ReadAt(b, int64(lba)*sectorSize); err != nil {
		return nil, fmt.Errorf("iso9660: read extent at sector %d: %w", lba, err)
	}
	return b, nil
}

func (rd *reader) walk(lba, size uint32, dir string, depth int) error {
	if depth > 32 {
		return errors.New("iso9660: directories nested too deep")
	}
	data, err := rd.extent(lba, size)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); {
		n := int(data[off])
		if n == 0 { // rest of the sector is padding
			off = (off/sectorSize + 1) * sectorSize
			continue
		}
		if off+n > len(data) || n < 34 {
			return fmt.Errorf("iso9660: bad directory record in %q", dir)
		}
		rec := data[off : off+n]
		off += n
		identLen := int(rec[32])
		ident := rec[33 : 33+identLen]
		if identLen == 1 && (ident[0] == 0 || ident[0] == 1) {
			continue
		}
		suStart := 33 + identLen
		if identLen%2 == 0 {
			suStart++
		}
		name := plainName(string(ident))
		var mode fs.FileMode
		if rd.rock && suStart < len(rec) {
			nm, m, err := rd.rockInfo(rec[suStart:])
			if err != nil {
				return err
			}
			if nm != "" {
				name = nm
			}
			mode = m
		}
		extLBA := binary.LittleEndian.Uint32(rec[2:6])
		extSize := binary.LittleEndian.Uint32(rec[10:14])
		p := path.Join(dir, name)
		if rec[25]&2 != 0 {
			if err := rd.walk(extLBA, extSize, p, depth+1); err != nil {
				return err
			}
			continue
		}
		content, err := rd.extent(extLBA, extSize)
		if err != nil {
			return err
		}
		rd.files = append(rd.files, File{Path: p, Data: content, Mode: mode})
	}
	return nil
}

// rockInfo reads the NM name and the PX mode from a system use area, following CE continuations.
func (rd *reader) rockInfo(su []byte) (string, fs.FileMode, error) {
	var name strings.Builder
	var mode fs.FileMode
	for hops := 0; hops < 8 && len(su) >= 4; hops++ {
		var next []byte
		for len(su) >= 4 {
			l := int(su[2])
			if l < 4 || l > len(su) {
				break
			}
			e := su[:l]
			su = su[l:]
			switch string(e[0:2]) {
			case "NM":
				name.Write(e[5:])
			case "PX":
				if l >= 12 {
					mode = fs.FileMode(binary.LittleEndian.Uint32(e[4:8]) & 0o7777)
				}
			case "CE":
				if l >= 28 {
					blk := binary.LittleEndian.Uint32(e[4:8])
					off := binary.LittleEndian.Uint32(e[12:16])
					ln := binary.LittleEndian.Uint32(e[20:24])
					b := make([]byte, ln)
					if _, err := rd.r.ReadAt(b, int64(blk)*sectorSize+int64(off)); err != nil {
						return "", 0, fmt.Errorf("iso9660: read continuation area: %w", err)
					}
					next = b
				}
			case "ST":
				su = nil
			}
		}
		su = next
	}
	return name.String(), mode, nil
}

// plainName shows an ISO 9660 identifier the way Linux isofs does without Rock Ridge (map=normal):
// lower case, version and a trailing dot dropped (USER_DAT.;1 -> user_dat).
func plainName(id string) string {
	id, _, _ = strings.Cut(id, ";")
	id = strings.TrimSuffix(id, ".")
	return string(bytes.ToLower([]byte(id)))
}
