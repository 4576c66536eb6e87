package store

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"time"
)

// hostAgentSSHPort asks the host agent (GET /v1/info on ha.sock) for the forwarded SSH port.
// It returns 0 when the socket is missing or does not answer within half a second.
func hostAgentSSHPort(sock string) int {
	if _, err := os.Stat(sock); err != nil {
		return 0
	}
	client := &http.Client{
		Timeout: 500 * time.Millisecond,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	resp, err := client.Get("http://lima-hostagent/v1/info")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var info struct {
		SSHLocalPort int `json:"sshLocalPort"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return 0
	}
	return info.SSHLocalPort
}
