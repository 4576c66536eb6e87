package iso9660

import (
	"encoding/binary"
	"time"
)

// Rock Ridge (RRIP 1.10) and SUSP entries. Each entry is: two signature bytes, length, version 1, data.

const (
	sIFDIR = 0o040000
	sIFREG = 0o100000

	erID  = "RRIP_1991A"
	erDes = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
	erSrc = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
)

func entry(sig string, data ...[]byte) []byte {
	n := 4
	for _, d := range data {
		n += len(d)
	}
	b := make([]byte, 0, n)
	b = append(b, sig[0], sig[1], byte(n), 1)
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}

// both733 encodes a 32-bit value in both byte orders (ISO 9660 7.3.3).
func both733(v uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
	return b
}

// both723 encodes a 16-bit value in both byte orders (ISO 9660 7.2.3).
func both723(v uint16) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
	return b
}

func suspSP() []byte { return entry("SP", []byte{0xBE, 0xEF, 0}) }

// rrRR is the RRIP 1.09 "RR" entry listing which RR entries follow (PX=1, NM=8, TF=128); old readers
// look for it, newer ones ignore it.
func rrRR(withName bool) []byte {
	flags := byte(1 | 128)
	if withName {
		flags |= 8
	}
	return entry("RR", []byte{flags})
}

func rrPX(n *node) []byte {
	mode := uint32(n.mode.Perm())
	nlink := uint32(1)
	if n.dir {
		mode |= sIFDIR
		nlink = 2
		for _, c := range n.children {
			if c.dir {
				nlink++
			}
		}
	} else {
		mode |= sIFREG
	}
	return entry("PX", both733(mode), both733(nlink), both733(0), both733(0))
}

// rrTF records the modification and access times (flags MODIFY|ACCESS, 7-byte form).
func rrTF(t time.Time) []byte {
	ts := isoTime7(t)
	return entry("TF", []byte{2 | 4}, ts, ts)
}

func rrNM(name string) []byte { return entry("NM", []byte{0}, []byte(name)) }

func suspCE(block, offset, length uint32) []byte {
	return entry("CE", both733(block), both733(offset), both733(length))
}

func suspER() []byte {
	return entry("ER", []byte{byte(len(erID)), byte(len(erDes)), byte(len(erSrc)), 1}, []byte(erID), []byte(erDes), []byte(erSrc))
}

// isoTime7 is the 7-byte recording date of directory records, in UTC.
func isoTime7(t time.Time) []byte {
	t = t.UTC()
	y := t.Year() - 1900
	if y < 0 {
		y = 0
	}
	if y > 255 {
		y = 255
	}
	return []byte{byte(y), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
}

// isoTime17 is the 17-byte date of the volume descriptor, in UTC.
func isoTime17(t time.Time) []byte {
	t = t.UTC()
	s := t.Format("20060102150405") + "00"
	return append([]byte(s), 0)
}
