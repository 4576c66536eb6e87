package hostagent

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
)

// Info is the answer of GET /v1/info on ha.sock.
type Info struct {
	SSHLocalPort int `json:"sshLocalPort,omitempty"`
}

// serveAPI listens on the Unix socket path (replacing a stale socket file) and serves the host
// agent's HTTP API until the returned close function is called.
func serveAPI(path string, info Info) (closeFn func(), err error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(info)
	})
	srv := &http.Server{Handler: mux}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the socket was removed under us; nothing to report to
		}
	}()
	return func() {
		_ = srv.Close()
		_ = os.Remove(path)
	}, nil
}
