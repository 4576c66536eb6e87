package reversesshfs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzSFTPPackets feeds the server arbitrary requests, framed (data is a series of records: two
// bytes of length, then a request's type and body), and checks that it answers each with one
// well-formed reply, then answers a final STAT, never sends the outside secret, never changes the
// outside folder, and on a read-only mount never changes the folder. The folder is escapeTree's;
// paths in the seeds are relative (the server takes them from the folder).
//
//	go test -fuzz=FuzzSFTPPackets -fuzztime=60s ./pkg/reversesshfs/
func FuzzSFTPPackets(f *testing.F) {
	share, outside := escapeTree(f)
	f.Cleanup(func() {
		// Undo any chmod 000 a request made, so the temporary folder can be removed.
		_ = filepath.WalkDir(share, func(p string, d fs.DirEntry, err error) error {
			if d != nil && d.Type()&fs.ModeSymlink == 0 {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	seeds := [][][]byte{
		{pkt(fxpInit, 3)},
		{pkt(fxpOpen, 1, "in.txt", fxfRead, noAttrs), pkt(fxpRead, 2, "1", uint64(0), uint32(100)), pkt(fxpFstat, 3, "1"), pkt(fxpClose, 4, "1")},
		{pkt(fxpOpen, 1, "log", fxfWrite|fxfAppend|fxfCreat, attrPerm(0o600)), pkt(fxpWrite, 2, "1", uint64(0), "a\n"), pkt(fxpFsetstat, 3, "1", attrPerm(0o644)), pkt(fxpExtended, 4, "fsync@openssh.com", "1"), pkt(fxpClose, 5, "1")},
		{pkt(fxpOpen, 1, "abs/secret.txt", fxfRead, noAttrs), pkt(fxpRead, 2, "1", uint64(0), uint32(100))},
		{pkt(fxpOpen, 1, "in.txt", fxfAppend)},
		{pkt(fxpOpendir, 1, "."), pkt(fxpReaddir, 2, "1"), pkt(fxpReaddir, 3, "1"), pkt(fxpClose, 4, "1")},
		{pkt(fxpStat, 1, "inabs/f.txt"), pkt(fxpLstat, 2, "abs"), pkt(fxpStat, 3, "rel/secret.txt"), pkt(fxpReadlink, 4, "up")},
		{pkt(fxpSetstat, 1, "in.txt", uint32(attrSize|attrPermissions|attrACModTime), uint64(3), uint32(0o4755), uint32(1), uint32(2))},
		{pkt(fxpSetstat, 1, "in.txt", attrSize|attrPermissions)},
		{pkt(fxpMkdir, 1, "newdir", attrPerm(0o1777)), pkt(fxpRmdir, 2, "newdir"), pkt(fxpRemove, 3, "log")},
		{pkt(fxpRealpath, 1, "../.."), pkt(fxpRename, 2, "in.txt", "sub/in.txt"), pkt(fxpRename, 3, "sub/in.txt", "in.txt")},
		{pkt(fxpSymlink, 1, "../outside", "newlink"), pkt(fxpStat, 2, "newlink/secret.txt"), pkt(fxpRemove, 3, "newlink")},
		{pkt(fxpExtended, 1, "posix-rename@openssh.com", "abs/secret.txt", "stolen"), pkt(fxpExtended, 2, "hardlink@openssh.com", "up/secret.txt", "hl")},
		{pkt(fxpExtended, 1, "statvfs@openssh.com", "."), pkt(fxpExtended, 2, "evil@example.com")},
		{pkt(99, 1), {}, {fxpStat}, pkt(fxpStat, 2, uint32(1000))},
	}
	for i, seq := range seeds {
		var data []byte
		for _, p := range seq {
			data = binary.BigEndian.AppendUint16(data, uint16(len(p)))
			data = append(data, p...)
		}
		f.Add(i%3 == 2, data)
	}
	f.Fuzz(func(t *testing.T, readOnly bool, data []byte) {
		var reqs [][]byte
		for len(data) >= 2 && len(reqs) < 64 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			reqs = append(reqs, data[:n])
			data = data[n:]
		}
		var before []string
		if readOnly {
			before = snapshot(t, share)
		}
		conn := pipeServer(t, share, readOnly)
		const finalID = 0xfeedface
		final := pkt(fxpStat, uint32(finalID), ".")
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		sent := make(chan error, 1)
		go func() {
			var b []byte
			for _, r := range append(reqs, final) {
				b = binary.BigEndian.AppendUint32(b, uint32(len(r)))
				b = append(b, r...)
			}
			_, err := conn.Write(b)
			sent <- err
		}()
		r := bufio.NewReader(conn)
		for i := 0; ; i++ {
			typ, id, body, err := readReply(r)
			if err != nil {
				t.Fatalf("reply %d of %d: %v", i+1, len(reqs)+1, err)
			}
			if bytes.Contains(body, []byte(secret)) {
				t.Fatalf("a reply of type %d carries the outside secret", typ)
			}
			if i < len(reqs) {
				continue
			}
			if id != finalID || i > len(reqs) {
				t.Fatalf("reply %d has id %#x; %d requests sent", i+1, id, len(reqs)+1)
			}
			break
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		checkOutside(t, outside)
		if readOnly {
			if after := snapshot(t, share); !slices.Equal(before, after) {
				t.Fatalf("a read-only mount changed:\n%v\n%v", before, after)
			}
		}
	})
}

func readReply(r io.Reader) (typ byte, id uint32, body []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 5 || n > maxPacket {
		return 0, 0, nil, fmt.Errorf("reply of length %d", n)
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, 0, nil, err
	}
	return body[0], binary.BigEndian.Uint32(body[1:5]), body[5:], nil
}

// snapshot describes the folder's top level: names, modes, sizes, mtimes.
func snapshot(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			out = append(out, fmt.Sprint(fi.Name(), fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
		}
	}
	return out
}
