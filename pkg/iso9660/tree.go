package iso9660

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// File is one entry of the image. Path is slash-separated and relative ("boot.Linux/05-x.sh");
// parent directories are created as needed (mode 0755). An entry whose Mode has fs.ModeDir set makes
// an (empty) directory explicitly. Mode's permission bits become the Rock Ridge mode; 0 means 0444
// for files and 0755 for directories. ModTime zero means the time of Write.
//
// The content is Data, or, when Source is set, the host file Source, streamed at Write time (for
// large files such as a nerdctl archive); it must not change size during Write.
type File struct {
	Path    string
	Data    []byte
	Source  string
	Mode    fs.FileMode
	ModTime time.Time
}

// maxNameLen bounds a Rock Ridge name so that one NM entry fits in a directory record.
const maxNameLen = 140

type node struct {
	name     string // Rock Ridge name; "" for the root
	ident    string // ISO 9660 file identifier (files end in ";1")
	dir      bool
	mode     fs.FileMode
	data     []byte
	source   string
	srcSize  int64
	mtime    time.Time
	parent   *node
	children []*node
	byName   map[string]*node

	// layout
	dirNum int    // path-table directory number (1-based), directories only
	lba    uint32 // first sector of the extent
	size   uint32 // bytes: data length for files, sectors*2048 for directories
}

func newDir(name string, parent *node, mode fs.FileMode, t time.Time) *node {
	return &node{name: name, dir: true, mode: mode, mtime: t, parent: parent, byName: map[string]*node{}}
}

// buildTree turns the flat file list into a directory tree with unique ISO identifiers.
func buildTree(files []File, now time.Time) (*node, error) {
	root := newDir("", nil, 0o755, now)
	root.parent = root
	for _, f := range files {
		p := f.Path
		if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." {
			return nil, fmt.Errorf("iso9660: invalid path %q: use a clean relative slash-separated path", f.Path)
		}
		parts := strings.Split(p, "/")
		cur := root
		for i, part := range parts {
			if part == ".." {
				return nil, fmt.Errorf("iso9660: invalid path %q: \"..\" is not allowed", f.Path)
			}
			if len(part) > maxNameLen {
				return nil, fmt.Errorf("iso9660: name %q in %q is longer than %d bytes", part, f.Path, maxNameLen)
			}
			last := i == len(parts)-1
			child, ok := cur.byName[part]
			if last && !f.Mode.IsDir() {
				if ok {
					return nil, fmt.Errorf("iso9660: duplicate path %q", f.Path)
				}
				mode := f.Mode.Perm()
				if mode == 0 {
					mode = 0o444
				}
				mt := f.ModTime
				if mt.IsZero() {
					mt = now
				}
				n := &node{name: part, mode: mode, data: f.Data, source: f.Source, mtime: mt, parent: cur}
				if f.Source != "" {
					st, err := os.Stat(f.Source)
					if err != nil {
						return nil, fmt.Errorf("iso9660: %s: %w", f.Path, err)
					}
					if !st.Mode().IsRegular() {
						return nil, fmt.Errorf("iso9660: %s: source %s is not a regular file", f.Path, f.Source)
					}
					n.srcSize = st.Size()
				}
				cur.byName[part] = n
				cur.children = append(cur.children, n)
				break
			}
			if ok && !child.dir {
				return nil, fmt.Errorf("iso9660: %q is both a file and a directory", path.Join(parts[:i+1]...))
			}
			if !ok {
				child = newDir(part, cur, 0o755, now)
				cur.byName[part] = child
				cur.children = append(cur.children, child)
			}
			if last && f.Mode.Perm() != 0 {
				child.mode = f.Mode.Perm()
			}
			cur = child
		}
	}
	assignIdents(root)
	return root, nil
}

// assignIdents gives every child of every directory a unique ISO 9660 level-1 identifier and sorts
// the children by it, recursively.
func assignIdents(d *node) {
	used := map[string]bool{}
	for _, c := range d.children {
		base, ext := isoBaseExt(c.name, c.dir)
		id := joinIdent(base, ext, c.dir)
		for n := 1; used[id]; n++ {
			suffix := "_" + strconv.Itoa(n)
			b := base
			if len(b)+len(suffix) > 8 {
				b = b[:8-len(suffix)]
			}
			id = joinIdent(b+suffix, ext, c.dir)
		}
		used[id] = true
		c.ident = id
	}
	sort.Slice(d.children, func(i, j int) bool { return identLess(d.children[i].ident, d.children[j].ident) })
	for _, c := range d.children {
		if c.dir {
			assignIdents(c)
		}
	}
}

// isoBaseExt maps a name to upper-case d-characters, 8 for the base and 3 for the extension.
func isoBaseExt(name string, dir bool) (string, string) {
	base, ext := name, ""
	if !dir {
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			base, ext = name[:i], name[i+1:]
		}
	}
	base, ext = dchars(base), dchars(ext)
	if base == "" {
		base = "_"
	}
	if len(base) > 8 {
		base = base[:8]
	}
	if len(ext) > 3 {
		ext = ext[:3]
	}
	return base, ext
}

func dchars(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func joinIdent(base, ext string, dir bool) string {
	if dir {
		return base
	}
	return base + "." + ext + ";1"
}

// identLess orders identifiers as ISO 9660 9.3 asks: by name, then extension, each padded with spaces.
func identLess(a, b string) bool {
	ka, kb := sortKey(a), sortKey(b)
	return ka < kb
}

func sortKey(id string) string {
	id = strings.TrimSuffix(id, ";1")
	base, ext, _ := strings.Cut(id, ".")
	return fmt.Sprintf("%-8s%-3s", base, ext)
}

// dirsInPathTableOrder lists directories breadth first with sorted children, which is the order the
// path table requires (by level, then parent number, then identifier), and numbers them.
func dirsInPathTableOrder(root *node) []*node {
	dirs := []*node{root}
	for i := 0; i < len(dirs); i++ {
		dirs[i].dirNum = i + 1
		for _, c := range dirs[i].children {
			if c.dir {
				dirs = append(dirs, c)
			}
		}
	}
	return dirs
}

func filesInOrder(d *node, out []*node) []*node {
	for _, c := range d.children {
		if c.dir {
			out = filesInOrder(c, out)
		} else {
			out = append(out, c)
		}
	}
	return out
}

var errTooLarge = errors.New("iso9660: file is 4 GiB or larger")

// length is the size of a file's content.
func (n *node) length() int64 {
	if n.source != "" {
		return n.srcSize
	}
	return int64(len(n.data))
}
