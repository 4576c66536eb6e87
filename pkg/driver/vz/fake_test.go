package vz

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
)

// fakeHypervisor stands in for Virtualization.framework. Its machines change state the way the
// framework reports it (Starting, Running, Stopping, Stopped) and answer vsock connections with an echo.
type fakeHypervisor struct {
	mu sync.Mutex
	// ignoreRequestStop makes the guest ignore the power button, so Stop must force.
	ignoreRequestStop bool
	machines          []*fakeMachine
	specs             []*Spec
}

func (h *fakeHypervisor) Probe() HostFacts { return HostFacts{Rosetta: RosettaInstalled} }

func (h *fakeHypervisor) NewMachineIdentifier() ([]byte, error) {
	return []byte("fake-machine-identifier"), nil
}

func (h *fakeHypervisor) CreateEFIVariableStore(path string) error {
	return os.WriteFile(path, []byte("fake EFI variable store"), 0o644)
}

func (h *fakeHypervisor) NewMachine(spec *Spec) (Machine, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := &fakeMachine{state: StateStopped, changes: make(chan MachineState, 64), ignoreRequestStop: h.ignoreRequestStop}
	h.machines = append(h.machines, m)
	h.specs = append(h.specs, spec)
	return m, nil
}

func (h *fakeHypervisor) last() *fakeMachine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.machines[len(h.machines)-1]
}

type fakeMachine struct {
	mu                sync.Mutex
	state             MachineState
	changes           chan MachineState
	ignoreRequestStop bool
	requestStops      int
	forcedStops       int
}

func (m *fakeMachine) set(st MachineState) {
	m.mu.Lock()
	m.state = st
	m.mu.Unlock()
	m.changes <- st
}

func (m *fakeMachine) Start() error {
	if m.State() != StateStopped {
		return errors.New("fake: the machine was started already")
	}
	m.set(StateStarting)
	m.set(StateRunning)
	return nil
}

func (m *fakeMachine) RequestStop() (bool, error) {
	m.mu.Lock()
	m.requestStops++
	ignore := m.ignoreRequestStop
	m.mu.Unlock()
	if m.State() != StateRunning {
		return false, errors.New("fake: not running")
	}
	if !ignore {
		go func() { m.set(StateStopping); m.set(StateStopped) }()
	}
	return true, nil
}

func (m *fakeMachine) Stop() error {
	m.mu.Lock()
	m.forcedStops++
	m.mu.Unlock()
	if m.State() == StateStopped {
		return errors.New("fake: already stopped")
	}
	m.set(StateStopped)
	return nil
}

func (m *fakeMachine) State() MachineState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

func (m *fakeMachine) StateChanged() <-chan MachineState { return m.changes }

func (m *fakeMachine) ConnectVsock(port uint32) (net.Conn, error) {
	if m.State() != StateRunning {
		return nil, errors.New("fake: not running")
	}
	host, guest := net.Pipe()
	go func() {
		defer guest.Close()
		_, _ = io.Copy(guest, guest)
	}()
	return host, nil
}

func (m *fakeMachine) counts() (requestStops, forcedStops int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requestStops, m.forcedStops
}
