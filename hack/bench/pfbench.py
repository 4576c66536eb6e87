# The guest side of the port-forwarding benchmarks (hack/e2e/portfwd_bench_test.go and
# hack/bench/sidebyside): `server` runs a sink on 127.0.0.1:8101 (reads to EOF, answers the byte
# count) and a source on 127.0.0.1:8102 (reads a byte count, sends that many bytes, closes);
# `client MODE PORT N` is the guest's own loopback client and prints the seconds one transfer took
# (on the guest clock only); `listen` reads commands on stdin ("open PORT", "close", "ping") for
# the listen-to-reachable samples and answers each on stdout once it is done; `hold PORT...` listens
# on each port (accepting and closing) until killed.
import socket, sys, threading, time

CHUNK = 1 << 20

def serve(port, handle):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()

def sink(c):
    buf = bytearray(CHUNK)
    n = 0
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        n += k
    c.sendall(b"%d\n" % n)
    c.close()

def source(c):
    f = c.makefile("rb")
    n = int(f.readline())
    buf = b"x" * CHUNK
    while n > 0:
        k = min(n, CHUNK)
        c.sendall(buf[:k])
        n -= k
    c.shutdown(socket.SHUT_WR)
    c.close()

def client(mode, port, n):
    c = socket.create_connection(("127.0.0.1", port))
    t = time.monotonic()
    if mode == "sink":
        buf = b"x" * CHUNK
        left = n
        while left > 0:
            k = min(left, CHUNK)
            c.sendall(buf[:k])
            left -= k
        c.shutdown(socket.SHUT_WR)
        got = int(c.makefile("rb").readline())
    else:
        c.sendall(b"%d\n" % n)
        buf = bytearray(CHUNK)
        got = 0
        while True:
            k = c.recv_into(buf)
            if not k:
                break
            got += k
    d = time.monotonic() - t
    if got != n:
        sys.exit("moved %d bytes, want %d" % (got, n))
    print("%.6f" % d)

def accept_loop(s):
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        c.sendall(b"x")
        c.close()

def listen():
    s = None
    for line in sys.stdin:
        w = line.split()
        if w[0] == "open":
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(w[1])))
            s.listen(16)
            threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
            print("listening", flush=True)
        elif w[0] == "close":
            s.shutdown(socket.SHUT_RDWR)
            s.close()
            print("closed", flush=True)
        else:
            print("pong", flush=True)

def hold(ports):
    ss = []
    for p in ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        s.listen(16)
        threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
        ss.append(s)
    while True:
        time.sleep(3600)

if sys.argv[1] == "server":
    threading.Thread(target=serve, args=(8101, sink), daemon=True).start()
    serve(8102, source)
elif sys.argv[1] == "client":
    client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif sys.argv[1] == "hold":
    hold([int(p) for p in sys.argv[2:]])
else:
    listen()
