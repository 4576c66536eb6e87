package hostagent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/hostagent/dns"
	"github.com/limactl/limactl/pkg/portfwd"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/store"
)

// agent is one run of the host agent.
type agent struct {
	inst    *store.Instance
	cfg     driver.Config
	drv     driver.Driver
	sshPort int
	user    string
	signer  ssh.Signer
	iid     string
	console *Console
	// stopConsole ends the console follower (launch starts one per hypervisor start).
	stopConsole func()
	// markerRoot prefixes the guest's marker paths (/run/lima-*); "" in a real guest, a directory
	// in tests whose fake guest is the host.
	markerRoot string

	mu     sync.Mutex
	client *ssh.Client
	// sessionClient is the connection on which the user-session step saw the ssh-ready marker:
	// its login environment is final, so the SSH mux takes it over instead of logging in again
	// (sshmux.go). Guarded by mu; taken once.
	sessionClient *ssh.Client
	// muxShared is the connection the mux took over (takeSessionClient): closeSSH leaves it open,
	// as users' sessions may run on it, and only stops the agent using it. Guarded by mu.
	muxShared *ssh.Client
	mounts    *mountSet // reverse-sshfs shares of this run; nil when there are none
	// deleteOnStop lists the host files copyToHost wrote that the stop removes (copytohost.go).
	deleteOnStop []string
	// userSessionReady, when set, is called (once or more) when the guest user's environment is
	// final: the SSH mux starts then (sshmux.go).
	userSessionReady func()
	// muxUp, when set, is closed once the SSH mux listens or has given up; READY waits for it.
	muxUp <-chan struct{}
	// tunnel is the guest agent's tunnel once port forwarding started it (portfwd.go); the SSH
	// mux runs commands through it (sshexec.go).
	tunnel atomic.Pointer[portfwd.Tunnel]
	// dns is the guest's DNS server (hostResolver; dnsserver.go); nil when there is none.
	dns *dns.Server
}

// prepare does everything before the guest is launched: SSH port, keys, known_hosts, ssh.config
// and the cloud-init seed.
func prepare(ctx context.Context, inst *store.Instance) (*agent, error) {
	y := inst.Config
	port := 0
	if y.SSH.LocalPort != nil {
		port = *y.SSH.LocalPort
	}
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("cannot find a free TCP port on 127.0.0.1 for SSH; set ssh.localPort: %w", err)
		}
		port = p
	}
	a := &agent{inst: inst, sshPort: port, user: deref(y.User.Name)}
	a.cfg = driver.Config{Name: inst.Name, InstanceDir: inst.Dir, Config: y, SSHLocalPort: port}
	drv, err := registry.New(inst.VMType, a.cfg)
	if err != nil {
		return nil, err
	}
	a.drv = drv
	if err := drv.Validate(ctx); err != nil {
		return nil, err
	}

	pubKeys, err := sshutil.DefaultPubKeys(deref(y.SSH.LoadDotSSHPubKeys))
	if err != nil {
		return nil, fmt.Errorf("cannot prepare the SSH user key: %w", err)
	}
	if a.signer, err = sshutil.UserSigner(); err != nil {
		return nil, err
	}
	hostKey, err := cidata.EnsureHostKey(inst.Dir)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(hostKey.Public)
	if err != nil {
		return nil, fmt.Errorf("the instance's host key is unreadable; delete %s to make a new one: %w", cidata.HostKeyFile, err)
	}
	if err := sshutil.WriteKnownHosts(inst.Dir, inst.Name, port, pub); err != nil {
		return nil, err
	}
	identity, err := sshutil.UserPrivateKeyPath()
	if err != nil {
		return nil, err
	}
	if err := sshutil.WriteSSHConfig(inst.Dir, inst.Name, a.user, port, identity, sshutil.KnownHostsFile(inst.Dir)); err != nil {
		return nil, err
	}

	args := cidata.Args{
		Name:        inst.Name,
		Config:      y,
		HostKey:     hostKey,
		VirtioPort:  drv.Info().VirtioPort,
		VsockPort:   drv.Info().VsockPort,
		BootScripts: drv.BootScripts(),
	}
	args.GuestAgentBinary = seedGuestAgent(inst) // port forwarding: pkg/hostagent/portfwd.go
	if y.Containerd.Enabled() {
		// `limactl start` has downloaded it (instance.Prepare); this finds it in the cache.
		f, path, err := downloader.NerdctlArchive(ctx, y.Containerd.Archives, inst.Arch, downloader.WithCache())
		if err != nil {
			return nil, err
		}
		args.NerdctlArchive, args.NerdctlArchiveFile = path, f
	}
	for _, k := range pubKeys {
		args.SSHPubKeys = append(args.SSHPubKeys, k.Content)
	}
	args.MACAddress = driver.MACAddress(inst.Dir)
	if deref(y.PropagateProxyEnv) {
		args.ProxyEnv = cidata.HostProxyEnv(cidata.DefaultSlirpGateway)
	}
	if a.dns, err = startDNS(inst, drv.Info().Name); err != nil {
		return nil, err
	}
	if a.dns != nil {
		// Per boot: these ports are not part of the instance id (cidata/env.go).
		args.UDPDNSLocalPort, args.TCPDNSLocalPort = a.dns.UDPPort(), a.dns.TCPPort()
	}
	seed, err := cidata.GenerateISO(inst.Dir, args)
	if err != nil {
		a.closeDNS()
		return nil, fmt.Errorf("cannot write the cloud-init seed: %w", err)
	}
	a.iid = seed.InstanceID
	return a, nil
}

// freePort finds a TCP port free on 127.0.0.1 for the guest's SSH. QEMU binds it seconds later,
// so it is taken below the ephemeral range when that leaves room: a port in that range can be
// taken in between as the source port of any outgoing connection (QEMU then fails with "Could
// not set up host forwarding rule"), one below it only by a program that asks for it.
func freePort() (int, error) {
	if low := ephemeralLow(); low > freePortMin+1000 {
		for range 64 {
			port := freePortMin + rand.IntN(low-freePortMin)
			if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				_ = l.Close()
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePortMin is the lowest port freePort picks: above the ports services usually take.
const freePortMin = 20000

// ephemeralLow is the first port of the range the OS hands out as source ports: Linux's
// ip_local_port_range (32768 by default), else IANA's 49152 (macOS and Windows use it).
func ephemeralLow() int {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil {
			return 0
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			return 0
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n > 65535 {
			return 0
		}
		return n
	}
	return 49152
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
