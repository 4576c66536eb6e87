//go:build linux

package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pingScript sends one ICMP echo to $1 from a raw socket and exits 0 on the reply (the test image
// has no ping; python3 is there).
const pingScript = `import socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4c49, 1) + b"limactl-user-v2"
pkt = hdr[:2] + struct.pack("!H", csum(hdr + b"\0")) + hdr[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
for _ in range(10):
    s.sendto(pkt, (sys.argv[1], 0))
    try:
        while True:
            data, addr = s.recvfrom(2048)
            ihl = (data[0] & 15) * 4
            if addr[0] == sys.argv[1] and data[ihl] == 0 and data[ihl + 4:ihl + 6] == b"\x4c\x49":
                sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
`

// TestUserV2 starts two instances, one after the other, on the user-v2 network (networks:
// [{lima: user-v2}], the second NIC lima0 in the guest): each pings the other's user-v2 address,
// resolves lima-OTHER.internal to it and opens a TCP connection to it. The network's usernet
// process outlives the first instance's stop and is gone once both are deleted.
func TestUserV2(t *testing.T) {
	requireVM(t)
	names := []string{"uv2a", "uv2b"}
	for _, name := range names {
		// t.Context is already cancelled when cleanups run.
		t.Cleanup(func() { _, _ = limactl(context.Background(), nil, "delete", "-f", name) })
	}
	for _, name := range names {
		must(t, bootTimeout, "start", "--tty=false", "--name="+name,
			"--set", `.cpus = 1 | .memory = "1GiB" | .networks = [{"lima": "user-v2"}]`,
			filepath.Join(imageDir, "test-image.yaml"))
	}
	pidPath := filepath.Join(limaHome, "_networks", "user-v2", "usernet_user-v2.pid")
	if !fileExists(pidPath) {
		t.Fatalf("%s is missing while two instances use the network", pidPath)
	}

	// Each guest's address on lima0, as DHCP gave it.
	ips := map[string]string{}
	for _, name := range names {
		var ip string
		waitFor(t, name+"'s lima0 address", 2*time.Minute, func() bool {
			r, err := limactl(t.Context(), nil, "shell", name, "ip", "-4", "-o", "addr", "show", "dev", "lima0")
			if err != nil || r.code != 0 {
				return false
			}
			for f := range strings.FieldsSeq(r.stdout) {
				if a, _, ok := strings.Cut(f, "/"); ok && net.ParseIP(a).To4() != nil {
					ip = a
					return true
				}
			}
			return false
		})
		if !strings.HasPrefix(ip, "192.168.104.") {
			t.Fatalf("%s has %s on lima0, outside user-v2's 192.168.104.0/24", name, ip)
		}
		ips[name] = ip
	}
	if ips[names[0]] == ips[names[1]] {
		t.Fatalf("both instances have %s", ips[names[0]])
	}

	for i, name := range names {
		other := names[1-i]
		sh := guestShell(t, name)
		if r := sh("sudo python3 -c " + shellQuote(pingScript) + " " + ips[other]); r.code != 0 {
			t.Errorf("%s cannot ping %s at %s:\n%s", name, other, ips[other], r)
		}
		var got string
		waitFor(t, name+" resolving lima-"+other+".internal", time.Minute, func() bool {
			r := sh("getent ahostsv4 lima-" + other + ".internal | head -n1")
			got, _, _ = strings.Cut(strings.TrimSpace(r.stdout), " ")
			return got == ips[other]
		})
		guestShell(t, other)("nohup socat -T5 TCP-LISTEN:7777,reuseaddr,fork SYSTEM:'echo hello-from-" + other + "' >/dev/null 2>&1 &")
		var reply string
		waitFor(t, name+" connecting to lima-"+other+".internal:7777", time.Minute, func() bool {
			r := sh("socat -t5 -T5 - TCP:lima-" + other + ".internal:7777 </dev/null")
			reply = strings.TrimSpace(r.stdout)
			return reply == "hello-from-"+other
		})
	}

	// The network stays up while one instance still uses it.
	must(t, 5*time.Minute, "stop", names[0])
	if !fileExists(pidPath) {
		t.Fatal("the usernet process stopped with the first instance while the second still uses it")
	}
	if r := guestShell(t, names[1])("ip -4 -o addr show dev lima0"); r.code != 0 {
		t.Errorf("%s lost lima0:\n%s", names[1], r)
	}
	for _, name := range names {
		must(t, 5*time.Minute, "delete", "-f", name)
	}
	// Release stops it at once; if a host agent died instead, the process exits by itself within 30 s.
	waitFor(t, "the usernet process to stop after the last instance", 90*time.Second, func() bool {
		_, err := os.Stat(pidPath)
		return os.IsNotExist(err)
	})
}
