package hostagent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/textutil"
)

// sshProbeTimeout bounds one SSH connection attempt while the guest boots.
const sshProbeTimeout = 10 * time.Second

// commandTimeout bounds one readiness command. While the guest boots, sshd may be restarted and the
// boot scripts end earlier sessions; a session caught in that can hang, so it is abandoned (and the
// connection redialled) instead of stalling start-up.
const commandTimeout = 20 * time.Second

// probeTimeout bounds one run of a readiness probe script.
const probeTimeout = 2 * time.Minute

// steps lists what start-up waits for, in order.
func (a *agent) steps() []Step {
	wake := a.console.Wake()
	// One command reads every start-up marker, and a marker seen is remembered (boot.sh writes each
	// once per boot): on a restart the boot scripts are often done by the time sshd answers, and
	// then the first command settles the ssh, user-session and boot-scripts steps at once instead
	// of one SSH session each (a few hundred ms apiece under emulation).
	seen := map[string]*ssh.Client{} // marker path -> the connection that read it
	var seenMu sync.Mutex
	readMarkers := func(ctx context.Context) error {
		c, err := a.sshClient(ctx)
		if err != nil {
			return err
		}
		paths := []string{cidata.MarkerSSHReady, cidata.MarkerBootDone}
		cmd := "grep -H . "
		for _, p := range paths {
			cmd += sshutil.ShellQuote(a.markerRoot+p) + " "
		}
		out, err := a.run(ctx, cmd+"2>/dev/null; true")
		if err != nil {
			return err
		}
		seenMu.Lock()
		defer seenMu.Unlock()
		for _, line := range strings.Split(out, "\n") {
			for _, p := range paths {
				if line == a.markerRoot+p+":"+a.iid && seen[p] == nil {
					seen[p] = c
				}
			}
		}
		return nil
	}
	marker := func(path string) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			seenMu.Lock()
			ok := seen[path] != nil
			seenMu.Unlock()
			if ok {
				return true, nil
			}
			if err := readMarkers(ctx); err != nil {
				return false, err
			}
			seenMu.Lock()
			defer seenMu.Unlock()
			return seen[path] != nil, nil
		}
	}
	steps := []Step{
		{
			ID: "ssh", Description: "Waiting for the guest's SSH server", Wake: wake,
			Check: func(ctx context.Context) (bool, error) {
				err := readMarkers(ctx)
				return err == nil, err
			},
			Hint: "see the guest's console in serial.log",
		},
		{
			ID: "user-session", Description: "Waiting for the user session to be ready for SSH", Wake: wake,
			Check: func(ctx context.Context) (bool, error) {
				ok, err := marker(cidata.MarkerSSHReady)(ctx)
				if ok && a.userSessionReady != nil {
					// The marker is written after boot.essential.Linux/05 changed /etc/environment and
					// killed the user's sshd processes: a connection that read it and is still the
					// current one logged in with the final environment, so the mux may take it over.
					seenMu.Lock()
					c := seen[cidata.MarkerSSHReady]
					seenMu.Unlock()
					a.mu.Lock()
					if a.client == c {
						a.sessionClient = c
					}
					a.mu.Unlock()
					a.userSessionReady() // the SSH mux starts now, while the boot scripts finish
				}
				return ok, err
			},
			Hint: "the guest's boot scripts have not written " + cidata.MarkerSSHReady,
		},
		{
			ID: "boot-scripts", Description: "Waiting for the boot scripts to finish", Wake: wake,
			Check: marker(cidata.MarkerBootDone),
			Hint:  "see /var/log/cloud-init-output.log in the guest",
		},
	}
	if a.inst.Config.Containerd.Enabled() {
		steps = append(steps, a.containerdStep(wake))
	}
	// Host folder mounts (mounts.go): reverse-sshfs shares are mounted here, before the probes.
	steps = append(steps, a.mountSteps()...)
	for i, p := range a.inst.Config.Probes {
		if p.Script == nil {
			continue
		}
		script, desc := withParamEnv(*p.Script, a.inst.Config.Param), p.Description
		if desc == "" {
			desc = fmt.Sprintf("probe %d", i+1)
		}
		steps = append(steps, Step{
			ID: fmt.Sprintf("probe-%d", i+1), Description: "Waiting for the readiness probe: " + desc, Hint: p.Hint,
			Check: func(ctx context.Context) (bool, error) {
				c, err := a.sshClient(ctx)
				if err != nil {
					return false, err
				}
				pctx, cancel := context.WithTimeout(ctx, probeTimeout)
				defer cancel()
				_, _, err = sshutil.ExecuteScript(pctx, c, script, desc)
				var exitErr *ssh.ExitError
				if err != nil && !errors.As(err, &exitErr) {
					a.closeSSH()
				}
				return err == nil, err
			},
		})
	}
	// Provision mode ansible (ansible.go): playbooks run on the host once the probes pass.
	steps = append(steps, a.ansibleSteps()...)
	return steps
}

// waitReady runs the readiness steps and writes the running event. It returns when ctx is done.
func (a *agent) waitReady(ctx context.Context, ew *events.Writer) {
	err := RunSteps(ctx, ew, a.steps(), DefaultBackoff)
	if ctx.Err() != nil {
		return
	}
	var warnings []string
	if err != nil {
		warnings = append(warnings, err.Error())
	}
	// copyToHost runs after the last step; a failed copy degrades the instance (copytohost.go).
	if fails := a.copyToHost(ctx); len(fails) > 0 {
		if err == nil {
			err = errors.New(fails[0])
		}
		warnings = append(warnings, fails...)
	}
	if ctx.Err() != nil {
		return
	}
	if out, ferr := a.run(ctx, "cat "+a.markerRoot+cidata.MarkerBootFailed+" 2>/dev/null || true"); ferr == nil {
		warnings = append(warnings, bootFailures(out)...)
	}
	for _, w := range warnings {
		logrus.Warn(w)
	}
	a.awaitMux(ctx)
	_ = ew.Update(func(s *events.Status) {
		s.Running = true
		s.Degraded = err != nil
		s.Errors = append(s.Errors, warnings...)
		s.Progress = nil
	})
	logrus.Info("the guest is ready")
}

// containerdStep waits for boot.Linux/40-containerd.sh: the nerdctl-full archive installed and the
// system and/or rootless containerd running. The script's own failure message (which step, which
// archive) ends the wait at once.
func (a *agent) containerdStep(wake <-chan struct{}) Step {
	return Step{
		ID: "containerd", Description: "Waiting for the containerd binaries to be installed and containerd to start", Wake: wake,
		Check: func(ctx context.Context) (bool, error) {
			out, err := a.run(ctx, "cat "+a.markerRoot+cidata.MarkerContainerdReady+" 2>/dev/null; echo; cat "+a.markerRoot+cidata.MarkerContainerdFailed+" 2>/dev/null || true")
			if err != nil {
				return false, err
			}
			ready, failed, _ := strings.Cut(out, "\n")
			if msg := strings.TrimSpace(textutil.Printable(failed)); msg != "" {
				return false, fmt.Errorf("%w: containerd: %s", ErrFatal, textutil.Clip(msg, maxBootFailureLine))
			}
			return strings.TrimSpace(ready) == a.iid, nil
		},
		Hint:     "see /var/log/cloud-init-output.log in the guest",
		Optional: true, // mounts, probes and playbooks still run: the instance is degraded, not stuck
	}
}

// Bounds on the boot-failure lines the guest reports (they become warnings on the user's terminal).
const (
	maxBootFailures    = 10
	maxBootFailureLine = 512
)

// bootFailures turns the guest's boot-failure marker into warnings: each line made printable and
// cut to maxBootFailureLine bytes, at most maxBootFailures of them.
func bootFailures(marker string) []string {
	var res []string
	n := 0
	for _, l := range strings.Split(marker, "\n") {
		if l = strings.TrimSpace(textutil.Printable(l)); l == "" {
			continue
		}
		if n++; n > maxBootFailures {
			continue
		}
		res = append(res, "boot script failed: "+textutil.Clip(l, maxBootFailureLine)+" (see /var/log/cloud-init-output.log in the guest)")
	}
	if n > maxBootFailures {
		res = append(res, fmt.Sprintf("%d more boot script failures (see /var/log/cloud-init-output.log in the guest)", n-maxBootFailures))
	}
	return res
}

// muxWait bounds how long READY waits for the SSH mux to listen.
const muxWait = 3 * time.Second

// awaitMux starts the SSH mux if the user-session step did not (a failed earlier step) and waits,
// briefly, until it listens: a `limactl shell` right after READY then finds the socket.
func (a *agent) awaitMux(ctx context.Context) {
	if a.userSessionReady != nil {
		a.userSessionReady()
	}
	if a.muxUp == nil {
		return
	}
	select {
	case <-a.muxUp:
	case <-ctx.Done():
	case <-time.After(muxWait):
		logrus.Debug("the SSH mux is not listening yet; READY goes on without it")
	}
}

// sshClient returns the agent's SSH connection to the guest, dialling when there is none.
func (a *agent) sshClient(ctx context.Context) (*ssh.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	dctx, cancel := context.WithTimeout(ctx, sshProbeTimeout)
	defer cancel()
	c, err := a.dialSSH(dctx)
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// run runs command over SSH. A failure of the connection (not of the command) drops the client, so
// the next call dials again: the boot scripts end the sessions opened before the user's environment
// was final.
func (a *agent) run(ctx context.Context, command string) (string, error) {
	c, err := a.sshClient(ctx)
	if err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, _, err := sshutil.Output(cctx, c, command, nil)
	var exitErr *ssh.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		a.closeSSH()
	}
	return string(out), err
}

// takeSessionClient returns the connection the user-session step vouched for, once, or nil when
// there is none or it has been dropped since.
func (a *agent) takeSessionClient() *ssh.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.sessionClient
	a.sessionClient = nil
	if c == nil || a.client != c {
		return nil
	}
	a.muxShared = c
	return c
}

// closeSSH drops the agent's connection, so that the next command dials again. It closes it too,
// unless the SSH mux has taken it over: a failed readiness command (a timeout, a session the
// guest refuses once users' sessions fill MaxSessions) must not end users' sessions through the
// mux, which drops the connection itself when it breaks.
func (a *agent) closeSSH() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		if a.client != a.muxShared {
			_ = a.client.Close()
		}
		a.client = nil
	}
}
