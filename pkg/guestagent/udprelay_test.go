package guestagent

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

func TestUDPRelayEcho(t *testing.T) {
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = echo.Close() }()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- UDPRelay(context.Background(), echo.LocalAddr().String(), inR, outW) }()
	buf := make([]byte, api.MaxDatagram)
	for _, msg := range []string{"one", "two", ""} {
		if err := api.WriteDatagram(inW, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := api.ReadDatagram(outR, buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "echo:"+msg {
			t.Errorf("reply = %q, want %q", got, "echo:"+msg)
		}
	}
	_ = inW.Close()
	if err := <-done; err != nil {
		t.Errorf("UDPRelay at the end of its input = %v", err)
	}
}
