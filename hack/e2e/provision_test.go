//go:build linux

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// startOutput is what the first `limactl start` of TestVM printed (stderr), for the cases that
// check its messages after the fact.
var startOutput string

// The provisioning the Start step adds to the test image (provisionSets) and testProvision checks.
const (
	provisionDir   = "/var/lib/lima-e2e"
	provisionLog   = provisionDir + "/provision.log"
	dataFile       = provisionDir + "/data.txt"
	probeMarker    = provisionDir + "/user-marker"
	probePassed    = provisionDir + "/probe-passed"
	paramValue     = "e2e-param-value"
	probeDesc      = "the user provision marker is 10 seconds old"
	copiedHostFile = "e2e-copied-data.txt" // in the instance directory ({{.Dir}})
)

// provisionSets returns the --set flags of the Start step: a system and a user script that each
// append "<mode> <uid> <param>" to provisionLog once (idempotent: a restart adds nothing), a data
// file, a probe that passes only 10 s after the user script ran (so READY must wait for it), a
// copyToHost of the data file, a param and a message.
func provisionSets() []string {
	system := `#!/bin/sh
set -eu
mkdir -p ` + provisionDir + ` && chmod 0777 ` + provisionDir + `
line="system $(id -u) ${PARAM_X}"
grep -qxF "$line" ` + provisionLog + ` 2>/dev/null || echo "$line" >> ` + provisionLog + `
chmod 0666 ` + provisionLog + `
`
	user := `#!/bin/sh
set -eu
line="user $(id -u) ${PARAM_X}"
grep -qxF "$line" ` + provisionLog + ` 2>/dev/null || echo "$line" >> ` + provisionLog + `
date +%s > ` + probeMarker + `
`
	probe := `#!/bin/sh
m=` + probeMarker + `
[ -e "$m" ] || exit 1
[ $(( $(date +%s) - $(stat -c %Y "$m") )) -ge 10 ] || exit 1
echo "probe passed with ${PARAM_X}" > ` + probePassed + `
`
	return []string{
		"--set", `.param.X = "` + paramValue + `"`,
		"--set", `.provision += [{"mode": "system", "script": ` + yqString(system) + `}]`,
		"--set", `.provision += [{"mode": "user", "script": ` + yqString(user) + `}]`,
		"--set", `.provision += [{"mode": "data", "path": "` + dataFile + `", "content": "data for {{.Param.X}}\n"}]`,
		"--set", `.probes += [{"description": "` + probeDesc + `", "script": ` + yqString(probe) + `}]`,
		"--set", `.copyToHost += [{"guest": "` + dataFile + `", "host": "{{.Dir}}/` + copiedHostFile + `"}]`,
		"--set", `.message = "e2e message from {{.Name}}: {{.Param.X}}"`,
	}
}

// yqString quotes s as a yq string literal (real newlines are allowed inside).
func yqString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// testProvision checks what the Start step's provisioning did, on the running guest.
func testProvision(t *testing.T) {
	uid := strings.TrimSpace(must(t, time.Minute, "shell", vm, "id", "-u").stdout)
	r := must(t, time.Minute, "shell", vm, "cat", provisionLog)
	want := "system 0 " + paramValue + "\nuser " + uid + " " + paramValue + "\n"
	if r.stdout != want {
		t.Errorf("%s (system, then user, once each) =\n%q\nwant\n%q", provisionLog, r.stdout, want)
	}

	r = must(t, time.Minute, "shell", vm, "cat", dataFile)
	if r.stdout != "data for "+paramValue+"\n" {
		t.Errorf("data provision %s holds %q", dataFile, r.stdout)
	}

	// The probe wrote probePassed when it passed; start returned after READY, so it must exist.
	r = must(t, time.Minute, "shell", vm, "cat", probePassed)
	if r.stdout != "probe passed with "+paramValue+"\n" {
		t.Errorf("probe result %s holds %q; want it written before READY, with $PARAM_X", probePassed, r.stdout)
	}
	if !strings.Contains(startOutput, probeDesc) {
		t.Errorf("start output lacks the probe's description %q:\n%s", probeDesc, startOutput)
	}

	copied := instDir(vm) + "/" + copiedHostFile
	if b, err := os.ReadFile(copied); err != nil || string(b) != "data for "+paramValue+"\n" {
		t.Errorf("copyToHost file %s = %q, %v; want the guest's %s", copied, b, err, dataFile)
	}

	ready := strings.Index(startOutput, "READY.")
	msg := strings.Index(startOutput, "e2e message from vm: "+paramValue)
	if ready < 0 || msg < ready {
		t.Errorf("start output should print the message after READY:\n%s", startOutput)
	}

	// --progress: the guest's cloud-init output, with the boot scripts' announcements, came before READY.
	progress := strings.Index(startOutput, "[cloud-init] LIMA: provision user")
	if progress < 0 || progress > ready {
		t.Errorf("start --progress should show the cloud-init output (the user provision step) before READY:\n%s", startOutput)
	}

	r = must(t, time.Minute, "shell", vm, "getent", "hosts", "host.lima.internal")
	if f := strings.Fields(r.stdout); len(f) < 2 || f[0] != "192.168.5.2" || f[1] != "host.lima.internal" {
		t.Errorf("getent hosts host.lima.internal = %q, want 192.168.5.2", r.stdout)
	}
}
