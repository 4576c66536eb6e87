package reversesshfs

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"

	"github.com/sirupsen/logrus"
)

// maxHandles caps the files and directories one mount's guest may hold open at once.
const maxHandles = 1024

// maxPanicLogs caps the panics logged per mount (a guest could otherwise fill the log).
const maxPanicLogs = 10

// Server is the builtin SFTP server of one reverse-sshfs mount: SFTP version 3 with the OpenSSH
// extensions sshfs uses (posix-rename, hardlink, fsync), serving one host folder through an
// os.Root. It is written for a hostile client: any packet gets a reply (a malformed one
// SSH_FX_BAD_MESSAGE, an unknown one SSH_FX_OP_UNSUPPORTED) and the session goes on; a panic in a
// request is logged and answered with SSH_FX_FAILURE; open handles are capped (maxHandles).
// Requests are served one at a time, in order, as OpenSSH's sftp-server does.
type Server struct {
	dir     string
	folder  *folder
	handles map[string]*handle
	next    uint64
	panics  int

	in   *bufio.Reader
	out  *bufio.Writer
	pkt  []byte         // the request being served
	w    writer         // its reply
	hook func(typ byte) // tests: called before each request
}

// handle is an open file or directory.
type handle struct {
	f       *os.File
	path    string // as the guest opened it
	dir     bool
	appends bool
}

// NewServer opens dir (an absolute host path) for serving; with readOnly every change is refused.
func NewServer(dir string, readOnly bool) (*Server, error) {
	d, err := openFolder(dir, readOnly)
	if err != nil {
		return nil, err
	}
	return &Server{dir: dir, folder: d, handles: map[string]*handle{}}, nil
}

// Close closes the folder. Call it once Serve has returned.
func (s *Server) Close() error { return s.folder.root.Close() }

// Serve answers the requests read from in on out until in ends (nil) or reading or writing fails.
// It closes the handles left open. One Serve at a time per Server.
func (s *Server) Serve(in io.Reader, out io.Writer) (err error) {
	s.in = bufio.NewReaderSize(in, 64<<10)
	s.out = bufio.NewWriterSize(out, 64<<10)
	defer s.closeHandles()
	defer func() {
		// Requests recover on their own (serve); this ends the session, never the host agent.
		if v := recover(); v != nil {
			err = fmt.Errorf("the SFTP server for %s panicked: %v", s.dir, v)
			logrus.Error(err)
		}
	}()
	for {
		if !s.buffered() {
			// Replies wait in the buffer while requests are queued behind them (sshfs pipelines).
			if err := s.out.Flush(); err != nil {
				return err
			}
		}
		bad, err := s.readPacket()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		s.serve(bad)
		if _, err := s.out.Write(s.w.finish()); err != nil {
			return err
		}
	}
}

// buffered reports whether a whole request is waiting in the input buffer.
func (s *Server) buffered() bool {
	b, err := s.in.Peek(min(4, s.in.Buffered()))
	return err == nil && len(b) == 4 && uint64(binary.BigEndian.Uint32(b))+4 <= uint64(s.in.Buffered())
}

// readPacket reads one request into s.pkt (type byte, then the rest). bad is set for a request
// of length 0 or longer than maxPacket; of the latter only the type and id are kept, the rest is
// skipped unread.
func (s *Server) readPacket() (bad bool, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(s.in, hdr[:]); err != nil {
		return false, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	keep := min(n, maxPacket)
	if n > maxPacket {
		keep = 5
	}
	s.pkt = slices.Grow(s.pkt[:0], int(keep))[:keep]
	if _, err := io.ReadFull(s.in, s.pkt); err != nil {
		return false, unexpectedEOF(err)
	}
	if n > keep {
		if _, err := io.CopyN(io.Discard, s.in, int64(n-keep)); err != nil {
			return false, unexpectedEOF(err)
		}
	}
	return n == 0 || n > maxPacket, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// serve builds the reply to the request in s.pkt in s.w.
func (s *Server) serve(bad bool) {
	var typ byte
	r := &reader{b: s.pkt}
	if len(r.b) > 0 {
		typ, r.b = r.b[0], r.b[1:]
	}
	var id uint32
	if typ != fxpInit && len(r.b) >= 4 {
		id = r.uint32()
	}
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(typ, v)
			s.status(id, fmt.Errorf("internal error: %v", v))
		}
	}()
	if s.hook != nil {
		s.hook(typ)
	}
	if bad || typ != fxpInit && len(s.pkt) < 5 {
		s.status(id, errBadMessage) // empty, too long, or too short to hold an id
		return
	}
	if err := s.request(typ, id, r); err != nil {
		s.status(id, err)
	}
}

func (s *Server) logPanic(typ byte, v any) {
	s.panics++
	switch {
	case s.panics <= maxPanicLogs:
		logrus.Errorf("reverse-sshfs: the SFTP server for %s panicked on a request of type %d (answered with a failure; the mount goes on): %v", s.dir, typ, v)
		logrus.Debugf("reverse-sshfs: the panic's stack: %s", debug.Stack())
	case s.panics == maxPanicLogs+1:
		logrus.Errorf("reverse-sshfs: the SFTP server for %s panicked again; further panics are not logged", s.dir)
	}
}

// request serves one request: it either builds the reply in s.w and returns nil, or returns the
// error to answer with. Every field is parsed, and r.err checked, before anything is done.
func (s *Server) request(typ byte, id uint32, r *reader) error {
	d := s.folder
	switch typ {
	case fxpInit:
		// VERSION carries the version where other replies carry an id.
		s.w.start(fxpVersion, 3)
		for _, ext := range [...]string{"posix-rename@openssh.com", "hardlink@openssh.com", "fsync@openssh.com"} {
			s.w.string(ext)
			s.w.string("1")
		}
		return nil
	case fxpOpen:
		p, pflags, a := r.string(), r.uint32(), r.attrs()
		if r.err != nil {
			return r.err
		}
		if len(s.handles) >= maxHandles {
			return errTooManyHandles
		}
		f, appends, err := d.open(p, pflags, a)
		if err != nil {
			return err
		}
		s.newHandle(id, &handle{f: f, path: p, appends: appends})
	case fxpOpendir:
		p := r.string()
		if r.err != nil {
			return r.err
		}
		if len(s.handles) >= maxHandles {
			return errTooManyHandles
		}
		f, err := d.opendir(p)
		if err != nil {
			return err
		}
		s.newHandle(id, &handle{f: f, path: p, dir: true})
	case fxpClose:
		hb := r.bytes()
		if r.err != nil {
			return r.err
		}
		h, ok := s.handles[string(hb)]
		if !ok {
			return errBadHandle
		}
		delete(s.handles, string(hb))
		return s.ok(id, h.f.Close())
	case fxpRead:
		h, off, n := s.handle(r.bytes()), r.uint64(), r.uint32()
		if r.err != nil {
			return r.err
		}
		return s.read(id, h, off, n)
	case fxpWrite:
		h, off, data := s.handle(r.bytes()), r.uint64(), r.bytes()
		if r.err != nil {
			return r.err
		}
		return s.ok(id, s.write(h, off, data))
	case fxpLstat, fxpStat:
		p := r.string()
		if r.err != nil {
			return r.err
		}
		fi, err := d.stat(p, typ == fxpStat)
		if err != nil {
			return err
		}
		s.attrs(id, fi)
	case fxpFstat:
		h := s.handle(r.bytes())
		if r.err != nil {
			return r.err
		}
		if h == nil {
			return errBadHandle
		}
		fi, err := h.f.Stat()
		if err != nil {
			return err
		}
		s.attrs(id, fi)
	case fxpSetstat:
		p, a := r.string(), r.attrs()
		if r.err != nil {
			return r.err
		}
		return s.ok(id, d.setstat(p, nil, a))
	case fxpFsetstat:
		h, a := s.handle(r.bytes()), r.attrs()
		if r.err != nil {
			return r.err
		}
		if h == nil {
			return errBadHandle
		}
		return s.ok(id, d.setstat(h.path, h.f, a))
	case fxpReaddir:
		h := s.handle(r.bytes())
		if r.err != nil {
			return r.err
		}
		return s.readdir(id, h)
	case fxpRemove, fxpRmdir:
		p := r.string()
		if r.err != nil {
			return r.err
		}
		return s.ok(id, d.remove(p, typ == fxpRmdir))
	case fxpMkdir:
		p, a := r.string(), r.attrs()
		if r.err != nil {
			return r.err
		}
		return s.ok(id, d.mkdir(p, a))
	case fxpRealpath:
		p := r.string()
		if r.err != nil {
			return r.err
		}
		s.name(id, d.clean(p))
	case fxpRename:
		oldp, newp := r.string(), r.string()
		if r.err != nil {
			return r.err
		}
		return s.ok(id, d.rename(oldp, newp, false))
	case fxpReadlink:
		p := r.string()
		if r.err != nil {
			return r.err
		}
		target, err := d.readlink(p)
		if err != nil {
			return err
		}
		s.name(id, target)
	case fxpSymlink:
		// OpenSSH's order (which sshfs follows), the reverse of the draft's: target, then link.
		target, linkp := r.string(), r.string()
		if r.err != nil {
			return r.err
		}
		return s.ok(id, d.symlink(target, linkp))
	case fxpExtended:
		return s.extended(id, r)
	default:
		return errUnsupported
	}
	return nil
}

func (s *Server) extended(id uint32, r *reader) error {
	d := s.folder
	switch name := r.string(); name {
	case "posix-rename@openssh.com", "hardlink@openssh.com":
		oldp, newp := r.string(), r.string()
		if r.err != nil {
			return r.err
		}
		if name == "hardlink@openssh.com" {
			return s.ok(id, d.link(oldp, newp))
		}
		return s.ok(id, d.rename(oldp, newp, true))
	case "fsync@openssh.com":
		h := s.handle(r.bytes())
		if r.err != nil {
			return r.err
		}
		if h == nil {
			return errBadHandle
		}
		return s.ok(id, h.f.Sync())
	default:
		if r.err != nil {
			return r.err
		}
		if err := d.writable(); err != nil {
			return err // an extension unknown here may well change something
		}
		return errUnsupported
	}
}

var (
	errUnsupported    = errors.New("operation unsupported")
	errBadHandle      = errors.New("no such handle")
	errTooManyHandles = fmt.Errorf("too many open files and directories (at most %d per mount)", maxHandles)
)

// handle looks up a handle; nil when there is none (read and write then answer errBadHandle).
func (s *Server) handle(b []byte) *handle { return s.handles[string(b)] }

func (s *Server) newHandle(id uint32, h *handle) {
	s.next++
	name := strconv.FormatUint(s.next, 10)
	s.handles[name] = h
	s.w.start(fxpHandle, id)
	s.w.string(name)
}

func (s *Server) closeHandles() {
	for name, h := range s.handles {
		_ = h.f.Close()
		delete(s.handles, name)
	}
}

func (s *Server) read(id uint32, h *handle, off uint64, n uint32) error {
	switch {
	case h == nil:
		return errBadHandle
	case h.dir:
		return errIsDir
	case off > math.MaxInt64:
		return errRange
	}
	n = min(n, maxRead)
	s.w.start(fxpData, id)
	at := len(s.w.b) + 4
	s.w.b = slices.Grow(s.w.b, 4+int(n))[:at+int(n)]
	k, err := h.f.ReadAt(s.w.b[at:], int64(off))
	if k == 0 {
		if err == nil {
			err = io.EOF
		}
		return err
	}
	s.w.b = s.w.b[:at+k]
	binary.BigEndian.PutUint32(s.w.b[at-4:], uint32(k))
	return nil
}

func (s *Server) write(h *handle, off uint64, data []byte) error {
	switch {
	case h == nil:
		return errBadHandle
	case h.dir:
		return errIsDir
	case s.folder.readOnly:
		return errReadOnly
	case h.appends:
		// O_APPEND: the offset means nothing (pwrite(2) on Linux ignores it too).
		_, err := h.f.Write(data)
		return err
	case off > math.MaxInt64:
		return errRange
	}
	_, err := h.f.WriteAt(data, int64(off))
	return err
}

func (s *Server) readdir(id uint32, h *handle) error {
	switch {
	case h == nil:
		return errBadHandle
	case !h.dir:
		return errNotDir
	}
	// Opened through the root, the directory lists each entry with lstatat(2) on its own
	// descriptor: an entry is described as what it is, never through a link.
	entries, err := h.f.ReadDir(readdirMax)
	if len(entries) == 0 {
		if err == nil {
			err = io.EOF
		}
		return err
	}
	s.w.start(fxpName, id)
	at := len(s.w.b)
	count := uint32(0)
	s.w.uint32(0)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		s.w.string(fi.Name())
		s.w.string(longName(fi))
		s.w.attrs(fi)
		count++
	}
	binary.BigEndian.PutUint32(s.w.b[at:], count)
	return nil
}

func (s *Server) attrs(id uint32, fi os.FileInfo) {
	s.w.start(fxpAttrs, id)
	s.w.attrs(fi)
}

func (s *Server) name(id uint32, name string) {
	s.w.start(fxpName, id)
	s.w.uint32(1)
	s.w.string(name)
	s.w.string(name)
	s.w.emptyAttrs()
}

// ok answers SSH_FX_OK, or the error.
func (s *Server) ok(id uint32, err error) error {
	if err == nil {
		s.w.start(fxpStatus, id)
		s.w.uint32(fxOK)
		s.w.string("Success")
		s.w.string("")
	}
	return err
}

// status answers with err's SSH_FX code and a message that names no host path.
func (s *Server) status(id uint32, err error) {
	code, msg := uint32(fxFailure), ""
	var errno syscall.Errno
	switch {
	case errors.Is(err, io.EOF):
		code, msg = fxEOF, "End of file"
	case errors.Is(err, fs.ErrNotExist):
		code, msg = fxNoSuchFile, "No such file"
	case errors.Is(err, fs.ErrPermission), escapes(err):
		code, msg = fxPermissionDenied, "Permission denied"
	case errors.Is(err, errBadMessage):
		code, msg = fxBadMessage, "Bad message"
	case errors.Is(err, errUnsupported):
		code, msg = fxOpUnsupported, "Operation unsupported"
	case errors.As(err, &errno):
		msg = errno.Error()
	case errors.Is(err, fs.ErrExist):
		msg = "File exists"
	default:
		// The text of the error, without the names os puts around it.
		var pe *fs.PathError
		var le *os.LinkError
		var se *os.SyscallError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		case errors.As(err, &se):
			err = se.Err
		}
		msg = err.Error()
	}
	s.w.start(fxpStatus, id)
	s.w.uint32(code)
	s.w.string(msg)
	s.w.string("")
}
