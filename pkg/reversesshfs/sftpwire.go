package reversesshfs

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"strconv"
	"time"
)

// SFTP protocol version 3 (draft-ietf-secsh-filexfer-02), as OpenSSH's sftp-server speaks it.
const (
	fxpInit     = 1
	fxpVersion  = 2
	fxpOpen     = 3
	fxpClose    = 4
	fxpRead     = 5
	fxpWrite    = 6
	fxpLstat    = 7
	fxpFstat    = 8
	fxpSetstat  = 9
	fxpFsetstat = 10
	fxpOpendir  = 11
	fxpReaddir  = 12
	fxpRemove   = 13
	fxpMkdir    = 14
	fxpRmdir    = 15
	fxpRealpath = 16
	fxpStat     = 17
	fxpRename   = 18
	fxpReadlink = 19
	fxpSymlink  = 20
	fxpStatus   = 101
	fxpHandle   = 102
	fxpData     = 103
	fxpName     = 104
	fxpAttrs    = 105
	fxpExtended = 200

	fxOK               = 0
	fxEOF              = 1
	fxNoSuchFile       = 2
	fxPermissionDenied = 3
	fxFailure          = 4
	fxBadMessage       = 5
	fxOpUnsupported    = 8

	fxfRead   = 0x01
	fxfWrite  = 0x02
	fxfAppend = 0x04
	fxfCreat  = 0x08
	fxfTrunc  = 0x10
	fxfExcl   = 0x20

	attrSize        = 0x01
	attrUIDGID      = 0x02
	attrPermissions = 0x04
	attrACModTime   = 0x08
	attrExtended    = 0x80000000
)

// maxPacket bounds a request (OpenSSH's SFTP_MAX_MSG_LENGTH); a longer one is skipped unread and
// answered with SSH_FX_BAD_MESSAGE. Clients (pkg/sftp's among them) refuse longer replies too, so
// a READ returns at most maxRead bytes and a READDIR batch stays far below it.
const (
	maxPacket  = 256 << 10
	maxRead    = maxPacket - 1024
	readdirMax = 64
)

// errBadMessage is a request that does not parse; its reply is SSH_FX_BAD_MESSAGE.
var errBadMessage = errors.New("bad message")

// reader decodes the fields of one request. The first short read sets err; later reads return
// zero values, so a handler parses every field and then checks err once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.err = errBadMessage
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) uint64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errBadMessage
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes returns a length-prefixed string without copying (valid until the next request).
func (r *reader) bytes() []byte {
	n := r.uint32()
	if r.err != nil || uint64(n) > uint64(len(r.b)) {
		r.err = errBadMessage
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

// attrs are the fields of an ATTRS structure that the request carried (flags says which).
type attrs struct {
	flags        uint32
	size         uint64
	uid, gid     uint32
	mode         uint32 // st_mode: type and permission bits
	atime, mtime uint32
}

func (r *reader) attrs() attrs {
	var a attrs
	a.flags = r.uint32()
	if a.flags&attrSize != 0 {
		a.size = r.uint64()
	}
	if a.flags&attrUIDGID != 0 {
		a.uid, a.gid = r.uint32(), r.uint32()
	}
	if a.flags&attrPermissions != 0 {
		a.mode = r.uint32()
	}
	if a.flags&attrACModTime != 0 {
		a.atime, a.mtime = r.uint32(), r.uint32()
	}
	if a.flags&attrExtended != 0 {
		// Pairs of strings nobody here uses: skipped, each checked against the packet's end.
		for n := r.uint32(); n > 0 && r.err == nil; n-- {
			r.bytes()
			r.bytes()
		}
	}
	return a
}

// Unix mode bits as SFTP carries them.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
	sISUID  = 0o4000
	sISGID  = 0o2000
	sISVTX  = 0o1000
)

// unixMode is fi's mode as st_mode.
func unixMode(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	switch m.Type() {
	case fs.ModeDir:
		v |= sIFDIR
	case fs.ModeSymlink:
		v |= sIFLNK
	case fs.ModeNamedPipe:
		v |= sIFIFO
	case fs.ModeSocket:
		v |= sIFSOCK
	case fs.ModeDevice:
		v |= sIFBLK
	case fs.ModeDevice | fs.ModeCharDevice:
		v |= sIFCHR
	default:
		v |= sIFREG
	}
	if m&fs.ModeSetuid != 0 {
		v |= sISUID
	}
	if m&fs.ModeSetgid != 0 {
		v |= sISGID
	}
	if m&fs.ModeSticky != 0 {
		v |= sISVTX
	}
	return v
}

// writer builds one reply: 4 bytes of length (set by finish), type, then fields.
type writer struct{ b []byte }

func (w *writer) start(typ byte, id uint32) {
	w.b = append(w.b[:0], 0, 0, 0, 0, typ)
	w.uint32(id)
}

func (w *writer) uint32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) uint64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *writer) string(s string) { w.uint32(uint32(len(s))); w.b = append(w.b, s...) }
func (w *writer) finish() []byte  { binary.BigEndian.PutUint32(w.b, uint32(len(w.b)-4)); return w.b }
func (w *writer) emptyAttrs()     { w.uint32(0) }
func (w *writer) attrs(fi os.FileInfo) {
	uid, gid, _ := owner(fi)
	mtime := timeU32(fi.ModTime())
	w.uint32(attrSize | attrUIDGID | attrPermissions | attrACModTime)
	w.uint64(uint64(max(fi.Size(), 0)))
	w.uint32(uid)
	w.uint32(gid)
	w.uint32(unixMode(fi.Mode()))
	w.uint32(mtime) // no atime in a FileInfo: OpenSSH clients and sshfs only show it
	w.uint32(mtime)
}

// timeU32 is t in SFTP v3's unsigned 32-bit seconds, clamped.
func timeU32(t time.Time) uint32 {
	return uint32(min(max(t.Unix(), 0), math.MaxUint32))
}

// longName is an `ls -l` line for a READDIR entry (what OpenSSH's sftp client shows; sshfs uses
// the attributes).
func longName(fi os.FileInfo) string {
	uid, gid, nlink := owner(fi)
	m := unixMode(fi.Mode())
	b := make([]byte, 0, 64+len(fi.Name()))
	b = append(b, typeChar(m))
	for i, rwx := range [3]uint32{m >> 6, m >> 3, m} {
		b = append(b, pick(rwx&4 != 0, 'r'), pick(rwx&2 != 0, 'w'))
		x, special, ch := rwx&1 != 0, false, byte('s')
		switch i {
		case 0:
			special = m&sISUID != 0
		case 1:
			special = m&sISGID != 0
		case 2:
			special, ch = m&sISVTX != 0, 't'
		}
		switch {
		case special && x:
			b = append(b, ch)
		case special:
			b = append(b, ch-'a'+'A')
		default:
			b = append(b, pick(x, 'x'))
		}
	}
	when := fi.ModTime().Format("Jan _2 15:04")
	if time.Since(fi.ModTime()) > 180*24*time.Hour || fi.ModTime().After(time.Now().Add(time.Hour)) {
		when = fi.ModTime().Format("Jan _2  2006")
	}
	b = append(b, "    "...)
	b = strconv.AppendUint(b, uint64(nlink), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(uid), 10)
	b = append(b, "     "...)
	b = strconv.AppendUint(b, uint64(gid), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, fi.Size(), 10)
	b = append(b, ' ')
	b = append(b, when...)
	b = append(b, ' ')
	return string(append(b, fi.Name()...))
}

func typeChar(m uint32) byte {
	switch m & sIFMT {
	case sIFDIR:
		return 'd'
	case sIFLNK:
		return 'l'
	case sIFIFO:
		return 'p'
	case sIFSOCK:
		return 's'
	case sIFCHR:
		return 'c'
	case sIFBLK:
		return 'b'
	}
	return '-'
}

func pick(set bool, c byte) byte {
	if set {
		return c
	}
	return '-'
}
