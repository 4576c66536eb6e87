package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Status is the derived state of an instance.
type Status = string

// Statuses, as Lima spells them.
const (
	StatusUnknown       Status = ""
	StatusUninitialized Status = "Uninitialized"
	StatusInstalling    Status = "Installing"
	StatusBroken        Status = "Broken"
	StatusStopped       Status = "Stopped"
	StatusRunning       Status = "Running"
)

// ErrNotExist is wrapped by Inspect when the instance directory does not exist.
var ErrNotExist = fs.ErrNotExist

// notExistError is an error that wraps ErrNotExist without adding its text.
type notExistError struct{ msg string }

func (e *notExistError) Error() string { return e.msg }
func (e *notExistError) Unwrap() error { return ErrNotExist }

func notExist(format string, args ...any) error {
	return &notExistError{msg: fmt.Sprintf(format, args...)}
}

// ErrConfigMissing is recorded in Instance.Errors of an instance directory that has no lima.yaml.
// As in Lima, limactl never deletes or resets such a directory: it may be a clone in progress.
var ErrConfigMissing = errors.New("lima.yaml is missing")

// configMissingError is Lima's "open DIR/lima.yaml: no such file or directory", with what it means.
type configMissingError struct{ err error }

func (e *configMissingError) Error() string {
	return e.err.Error() + " (lima.yaml is missing, so the instance directory is incomplete: a clone in progress, " +
		"or an interrupted one; if no `limactl` command is using it, remove it by hand)"
}

func (e *configMissingError) Is(target error) bool { return target == ErrConfigMissing }

// ConfigMissing reports whether the instance directory has no lima.yaml (see ErrConfigMissing).
func (inst *Instance) ConfigMissing() bool {
	for _, err := range inst.Errors {
		if errors.Is(err, ErrConfigMissing) {
			return true
		}
	}
	return false
}

// Instance is what Inspect learns about one instance. The JSON field names are Lima's, so scripts
// reading `limactl list --json` keep working.
type Instance struct {
	Name            string             `json:"name"`
	Hostname        string             `json:"hostname"`
	Status          Status             `json:"status"`
	Dir             string             `json:"dir"`
	VMType          limayaml.VMType    `json:"vmType"`
	Arch            limayaml.Arch      `json:"arch"`
	CPUType         string             `json:"cpuType" lima:"deprecated"` // Lima 1's; not in Lima 2's instance
	CPUs            int                `json:"cpus,omitempty"`
	Memory          int64              `json:"memory,omitempty"` // bytes
	Disk            int64              `json:"disk,omitempty"`   // bytes
	Message         string             `json:"message,omitempty"`
	AdditionalDisks []limayaml.Disk    `json:"additionalDisks,omitempty"`
	Networks        []limayaml.Network `json:"network,omitempty"`
	SSHLocalPort    int                `json:"sshLocalPort,omitempty"`
	SSHConfigFile   string             `json:"sshConfigFile,omitempty"`
	HostAgentPID    int                `json:"hostAgentPID,omitempty"`
	DriverPID       int                `json:"driverPID,omitempty"`
	Errors          []error            `json:"errors,omitempty"`
	Config          *limayaml.LimaYAML `json:"config,omitempty"`
	SSHAddress      string             `json:"sshAddress,omitempty"`
	Protected       bool               `json:"protected"`
	LimaVersion     string             `json:"limaVersion"`
	Param           map[string]string  `json:"param,omitempty"`
}

// plainInstance is Instance without its MarshalJSON method.
type plainInstance Instance

// instanceJSON is how an Instance is written as JSON: Errors as strings (an error value has no
// exported fields).
type instanceJSON struct {
	*plainInstance
	Errors []string `json:"errors,omitempty"`
}

func (inst *Instance) jsonView() instanceJSON {
	var errs []string
	for _, e := range inst.Errors {
		errs = append(errs, e.Error())
	}
	return instanceJSON{plainInstance: (*plainInstance)(inst), Errors: errs}
}

// MarshalJSON writes Errors as strings.
func (inst *Instance) MarshalJSON() ([]byte, error) {
	return json.Marshal(inst.jsonView())
}

// Hostname returns the guest hostname of an instance: "lima-" + name with "." and "_" as "-".
func Hostname(name string) string {
	return "lima-" + strings.NewReplacer(".", "-", "_", "-").Replace(name)
}

// Instances lists the instance names under $LIMA_HOME, sorted. Names starting with "_" or "." are
// reserved (config, disks, temporary directories) and skipped.
func Instances() ([]string, error) {
	limaDir, err := dirnames.LimaDir()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(limaDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".") {
			continue
		}
		if !e.IsDir() {
			if e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			if st, err := os.Stat(filepath.Join(limaDir, n)); err != nil || !st.IsDir() {
				continue
			}
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Inspect reads the instance NAME. It returns an error wrapping ErrNotExist when there is no such
// instance; every other problem (unreadable lima.yaml, inconsistent pid files) makes the instance
// Broken and is recorded in Instance.Errors.
func Inspect(_ context.Context, name string) (*Instance, error) {
	dir, err := dirnames.InstanceDir(name)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, notExist("instance %#q does not exist, run `limactl create --name=%s` to create a new instance", name, name)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, notExist("%s is not a directory", dir)
	}
	inst := &Instance{
		Name:          name,
		Hostname:      Hostname(name),
		Dir:           dir,
		Status:        StatusUnknown,
		SSHAddress:    "127.0.0.1",
		SSHConfigFile: filepath.Join(dir, filenames.SSHConfig),
	}
	if _, err := os.Lstat(filepath.Join(dir, filenames.Protected)); err == nil {
		inst.Protected = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, filenames.LimaVersion)); err == nil {
		inst.LimaVersion = strings.TrimSpace(string(b))
	}
	yamlPath := filepath.Join(dir, filenames.LimaYAML)
	data, err := os.ReadFile(yamlPath)
	if err != nil {
		inst.Status = StatusBroken
		if errors.Is(err, os.ErrNotExist) {
			err = &configMissingError{err: err}
		}
		inst.Errors = append(inst.Errors, err)
		return inst, nil
	}
	y, err := LoadYAML(data, yamlPath)
	if err != nil {
		inst.Status = StatusBroken
		inst.Errors = append(inst.Errors, err)
		return inst, nil
	}
	inst.Config = y
	inst.fillFromConfig()
	inst.inspectStatus()
	return inst, nil
}

func (inst *Instance) fillFromConfig() {
	y := inst.Config
	if y.VMType != nil {
		inst.VMType = *y.VMType
	}
	if y.Arch != nil {
		inst.Arch = *y.Arch
	}
	inst.CPUType = y.VMOpts.QEMU.CPUType[inst.Arch]
	if inst.CPUType == "" {
		inst.CPUType = y.CPUType[inst.Arch]
	}
	if y.CPUs != nil {
		inst.CPUs = *y.CPUs
	}
	if y.Memory != nil {
		if n, err := units.RAMInBytes(*y.Memory); err == nil {
			inst.Memory = n
		} else {
			inst.Errors = append(inst.Errors, fmt.Errorf("cannot parse memory %q: %w", *y.Memory, err))
		}
	}
	if y.Disk != nil {
		if n, err := units.RAMInBytes(*y.Disk); err == nil {
			inst.Disk = n
		} else {
			inst.Errors = append(inst.Errors, fmt.Errorf("cannot parse disk %q: %w", *y.Disk, err))
		}
	}
	inst.AdditionalDisks = y.AdditionalDisks
	inst.Networks = y.Networks
	inst.Param = y.Param
	inst.Message = inst.renderMessage(y.Message)
}

// renderMessage expands the config's message with what `limactl list --format` sees: the instance
// fields ({{.Name}}, {{.Dir}}, {{.Param.X}}...) and the host facts ({{.HostOS}}, {{.HostArch}},
// {{.LimaHome}}, {{.IdentityFile}}).
func (inst *Instance) renderMessage(msg string) string {
	if !strings.Contains(msg, "{{") {
		return msg
	}
	t, err := template.New("message").Parse(msg)
	if err != nil {
		inst.Errors = append(inst.Errors, fmt.Errorf("cannot parse the message template: %w", err))
		return msg
	}
	var b bytes.Buffer
	if err := t.Execute(&b, newFormatData(inst)); err != nil {
		inst.Errors = append(inst.Errors, fmt.Errorf("cannot render the message template: %w", err))
		return msg
	}
	return b.String()
}

// inspectStatus derives the status from the host agent and driver pid files.
func (inst *Instance) inspectStatus() {
	var err error
	inst.HostAgentPID, err = ReadPIDFile(filepath.Join(inst.Dir, filenames.HostAgentPID))
	if err != nil {
		inst.Status = StatusBroken
		inst.Errors = append(inst.Errors, err)
		return
	}
	inst.DriverPID, err = ReadPIDFile(filepath.Join(inst.Dir, filenames.PIDFile(inst.VMType)))
	if err != nil {
		inst.Status = StatusBroken
		inst.Errors = append(inst.Errors, err)
		return
	}
	switch {
	case inst.HostAgentPID != 0 && inst.DriverPID != 0:
		inst.Status = StatusRunning
		inst.SSHLocalPort = inst.runningSSHPort()
	case inst.HostAgentPID == 0 && inst.DriverPID == 0:
		inst.Status = StatusStopped
	case inst.HostAgentPID == 0:
		inst.Status = StatusBroken
		inst.Errors = append(inst.Errors, fmt.Errorf("hostagent is not running but %s is (pid %d); stop it with `limactl stop -f %s`", inst.VMType, inst.DriverPID, inst.Name))
	default:
		inst.Status = StatusBroken
		inst.Errors = append(inst.Errors, fmt.Errorf("hostagent is running (pid %d) but %s is not; stop it with `limactl stop -f %s`", inst.HostAgentPID, inst.VMType, inst.Name))
	}
}

// runningSSHPort finds the forwarded SSH port of a running instance: the ssh.config the host agent
// wrote on start, else the host agent's info endpoint, else the configured ssh.localPort.
func (inst *Instance) runningSSHPort() int {
	if p := sshConfigPort(inst.SSHConfigFile); p != 0 {
		return p
	}
	if p := hostAgentSSHPort(filepath.Join(inst.Dir, filenames.HostAgentSock)); p != 0 {
		return p
	}
	if inst.Config != nil && inst.Config.SSH.LocalPort != nil {
		return *inst.Config.SSH.LocalPort
	}
	return 0
}

func sshConfigPort(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && strings.EqualFold(fields[0], "Port") {
			if p, err := strconv.Atoi(fields[1]); err == nil {
				return p
			}
		}
	}
	return 0
}
