package hostagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
)

// copyTimeout bounds the copy of one copyToHost file.
const copyTimeout = 2 * time.Minute

// copyToHost copies every copyToHost[] guest file to its host path once the guest is ready, and
// remembers the ones to delete on stop. It returns one message per failed entry; a failure does
// not stop the others.
func (a *agent) copyToHost(ctx context.Context) []string {
	var failures []string
	for i, rule := range a.inst.Config.CopyToHost {
		copied, err := a.copyOne(ctx, rule)
		if err != nil {
			failures = append(failures, fmt.Sprintf("copyToHost[%d]: cannot copy guest file %s to %s: %v", i, rule.GuestFile, rule.HostFile, err))
			continue
		}
		if !copied {
			logrus.Infof("copyToHost: %s is missing in the guest; skipped (skipIfMissing)", rule.GuestFile)
			continue
		}
		logrus.Infof("copyToHost: copied guest file %s to %s", rule.GuestFile, rule.HostFile)
		if rule.DeleteOnStop {
			a.mu.Lock()
			a.deleteOnStop = append(a.deleteOnStop, rule.HostFile)
			a.mu.Unlock()
		}
	}
	return failures
}

// copyOne copies one file. It reports false when the guest file is missing and skipIfMissing is set.
func (a *agent) copyOne(ctx context.Context, rule limayaml.CopyToHost) (bool, error) {
	c, err := a.sshClient(ctx)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, copyTimeout)
	defer cancel()
	guest := sshutil.ShellQuote(rule.GuestFile)
	data, stderr, err := sshutil.Output(cctx, c, "LANG=C cat -- "+guest, nil)
	if err != nil && isExit(err) && bytes.Contains(stderr, []byte("Permission denied")) {
		// Like Lima: a root-only file is read with sudo (non-interactive: no password prompt).
		data, stderr, err = sshutil.Output(cctx, c, "LANG=C sudo -n cat -- "+guest, nil)
	}
	if err != nil {
		if isExit(err) && bytes.Contains(stderr, []byte("No such file")) {
			if rule.SkipIfMissing {
				return false, nil
			}
			return false, errors.New("the file does not exist in the guest (set skipIfMissing: true to allow that)")
		}
		if !isExit(err) {
			a.closeSSH()
		}
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(rule.HostFile), 0o755); err != nil {
		return false, err
	}
	if err := atomicfile.WriteFile(rule.HostFile, data, 0o644); err != nil {
		return false, fmt.Errorf("cannot write the host file: %w", err)
	}
	return true, nil
}

// deleteCopiedFiles removes the host copies marked deleteOnStop.
func (a *agent) deleteCopiedFiles() {
	a.mu.Lock()
	files := a.deleteOnStop
	a.deleteOnStop = nil
	a.mu.Unlock()
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			logrus.WithError(err).Warnf("copyToHost: cannot delete %s (deleteOnStop)", f)
			continue
		}
		logrus.Infof("copyToHost: deleted %s (deleteOnStop)", f)
	}
}

func isExit(err error) bool {
	var exitErr *ssh.ExitError
	return errors.As(err, &exitErr)
}

// withParamEnv returns a probe script that exports the instance's param as PARAM_<key> first, as
// provision scripts see them (param.env), when the script's interpreter is a POSIX shell.
func withParamEnv(script string, param map[string]string) string {
	if len(param) == 0 {
		return script
	}
	first, rest, _ := strings.Cut(script, "\n")
	interp := strings.Fields(strings.TrimPrefix(strings.TrimSpace(first), "#!"))
	if len(interp) == 0 {
		return script
	}
	shell := filepath.Base(interp[0])
	if shell == "env" && len(interp) > 1 {
		shell = interp[1]
	}
	switch shell {
	case "sh", "bash", "dash", "ash", "ksh", "zsh":
	default:
		return script
	}
	var b strings.Builder
	b.WriteString(first + "\n")
	for _, k := range slices.Sorted(maps.Keys(param)) {
		b.WriteString("export PARAM_" + k + "=" + sshutil.ShellQuote(param[k]) + "\n")
	}
	b.WriteString(rest)
	return b.String()
}
