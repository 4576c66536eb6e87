package portfwd

import (
	"context"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/sshutil"
)

// SSHGuestAgent reaches the guest agent's protocol through SSH, for drivers without a
// virtio-serial or vsock channel: each call runs `lima-guestagent stdio` in the guest (a second,
// private socket watcher speaking on its stdin and stdout).
func SSHGuestAgent(client ClientFunc, guestAgentPath string) func(ctx context.Context) (io.ReadWriteCloser, error) {
	return func(ctx context.Context) (io.ReadWriteCloser, error) {
		cl, err := client(ctx)
		if err != nil {
			return nil, err
		}
		sess, err := cl.NewSession()
		if err != nil {
			return nil, err
		}
		in, err := sess.StdinPipe()
		if err != nil {
			_ = sess.Close()
			return nil, err
		}
		out, err := sess.StdoutPipe()
		if err != nil {
			_ = sess.Close()
			return nil, err
		}
		if err := sess.Start(sshutil.ShellQuoteCommand([]string{guestAgentPath, "stdio"})); err != nil {
			_ = sess.Close()
			return nil, err
		}
		return &sessionConn{sess: sess, in: in, out: out}, nil
	}
}

type sessionConn struct {
	sess *ssh.Session
	in   io.WriteCloser
	out  io.Reader
}

func (c *sessionConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *sessionConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *sessionConn) Close() error {
	_ = c.in.Close()
	return c.sess.Close()
}
