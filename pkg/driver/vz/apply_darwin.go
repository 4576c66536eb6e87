//go:build darwin && cgo

package vz

// The apply layer: the only code that calls Virtualization.framework. Each Spec field maps onto one
// vz call; no defaults, no checks beyond the framework's own. Linux CI cannot compile this file (it
// needs the macOS SDK), so hack/vz-typecheck type-checks it against github.com/Code-Hex/vz/v3.

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/Code-Hex/vz/v3"
)

// DefaultHypervisor is Virtualization.framework.
func DefaultHypervisor() Hypervisor { return frameworkHypervisor{} }

type frameworkHypervisor struct{}

// frameworkAvailable is nil: this binary links Virtualization.framework. Whether this macOS can run a
// given configuration is the plan's and the framework's business.
func frameworkAvailable() error { return nil }

func (frameworkHypervisor) Probe() HostFacts {
	return HostFacts{
		NestedVirtualization: vz.IsNestedVirtualizationSupported(),
		Rosetta:              rosettaAvailability(),
		MaxCPUs:              vz.VirtualMachineConfigurationMaximumAllowedCPUCount(),
	}
}

func (frameworkHypervisor) NewMachineIdentifier() ([]byte, error) {
	id, err := vz.NewGenericMachineIdentifier()
	if err != nil {
		return nil, err
	}
	return id.DataRepresentation(), nil
}

func (frameworkHypervisor) CreateEFIVariableStore(path string) error {
	_, err := vz.NewEFIVariableStore(path, vz.WithCreatingEFIVariableStore())
	return err
}

func (frameworkHypervisor) NewMachine(s *Spec) (Machine, error) {
	cfg, err := configuration(s)
	if err != nil {
		return nil, err
	}
	ok, err := cfg.Validate()
	if err != nil {
		return nil, fmt.Errorf("the configuration was rejected by Virtualization.framework: %w", err)
	}
	if !ok {
		return nil, errors.New("the configuration was rejected by Virtualization.framework without a reason")
	}
	vm, err := vz.NewVirtualMachine(cfg)
	if err != nil {
		return nil, err
	}
	return &frameworkMachine{vm: vm}, nil
}

// configuration maps the Spec onto a vz.VirtualMachineConfiguration.
func configuration(s *Spec) (*vz.VirtualMachineConfiguration, error) {
	boot, err := bootLoader(s.Boot)
	if err != nil {
		return nil, fmt.Errorf("boot loader: %w", err)
	}
	cfg, err := vz.NewVirtualMachineConfiguration(boot, s.CPUs, s.MemoryBytes)
	if err != nil {
		return nil, err
	}

	idData, err := os.ReadFile(s.Platform.MachineIdentifier)
	if err != nil {
		return nil, err
	}
	id, err := vz.NewGenericMachineIdentifierWithData(idData)
	if err != nil {
		return nil, fmt.Errorf("machine identifier %s: %w", s.Platform.MachineIdentifier, err)
	}
	platform, err := vz.NewGenericPlatformConfiguration(vz.WithGenericMachineIdentifier(id))
	if err != nil {
		return nil, err
	}
	if s.Platform.NestedVirtualization {
		if err := platform.SetNestedVirtualizationEnabled(true); err != nil {
			return nil, fmt.Errorf("nested virtualization: %w", err)
		}
	}
	cfg.SetPlatformVirtualMachineConfiguration(platform)

	var storage []vz.StorageDeviceConfiguration
	for _, d := range s.Disks {
		att, err := vz.NewDiskImageStorageDeviceAttachmentWithCacheAndSync(d.Path, d.ReadOnly, cachingMode[d.Caching], syncMode[d.Sync])
		if err != nil {
			return nil, fmt.Errorf("disk %s: %w", d.Path, err)
		}
		blk, err := vz.NewVirtioBlockDeviceConfiguration(att)
		if err != nil {
			return nil, fmt.Errorf("disk %s: %w", d.Path, err)
		}
		if d.Identifier != "" {
			if err := blk.SetBlockDeviceIdentifier(d.Identifier); err != nil {
				return nil, fmt.Errorf("disk %s: identifier %q: %w", d.Path, d.Identifier, err)
			}
		}
		storage = append(storage, blk)
	}
	cfg.SetStorageDevicesVirtualMachineConfiguration(storage)

	var nics []*vz.VirtioNetworkDeviceConfiguration
	for _, n := range s.Networks {
		att, err := vz.NewNATNetworkDeviceAttachment()
		if err != nil {
			return nil, err
		}
		nic, err := vz.NewVirtioNetworkDeviceConfiguration(att)
		if err != nil {
			return nil, err
		}
		hw, err := net.ParseMAC(n.MAC)
		if err != nil {
			return nil, err
		}
		mac, err := vz.NewMACAddress(hw)
		if err != nil {
			return nil, err
		}
		nic.SetMACAddress(mac)
		nics = append(nics, nic)
	}
	cfg.SetNetworkDevicesVirtualMachineConfiguration(nics)

	var shares []vz.DirectorySharingDeviceConfiguration
	for _, sh := range s.Shares {
		dir, err := vz.NewSharedDirectory(sh.HostPath, sh.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("share %s: %w", sh.HostPath, err)
		}
		single, err := vz.NewSingleDirectoryShare(dir)
		if err != nil {
			return nil, err
		}
		fs, err := vz.NewVirtioFileSystemDeviceConfiguration(sh.Tag)
		if err != nil {
			return nil, fmt.Errorf("share %s (tag %s): %w", sh.HostPath, sh.Tag, err)
		}
		fs.SetDirectoryShare(single)
		shares = append(shares, fs)
	}
	if s.Rosetta != nil {
		fs, err := rosettaDevice(s.Rosetta)
		if err != nil {
			return nil, fmt.Errorf("rosetta: %w", err)
		}
		shares = append(shares, fs)
	}
	cfg.SetDirectorySharingDevicesVirtualMachineConfiguration(shares)

	serialAtt, err := vz.NewFileSerialPortAttachment(s.Console.LogPath, false)
	if err != nil {
		return nil, fmt.Errorf("console %s: %w", s.Console.LogPath, err)
	}
	console, err := vz.NewVirtioConsoleDeviceSerialPortConfiguration(serialAtt)
	if err != nil {
		return nil, err
	}
	cfg.SetSerialPortsVirtualMachineConfiguration([]*vz.VirtioConsoleDeviceSerialPortConfiguration{console})

	if s.Vsock {
		sock, err := vz.NewVirtioSocketDeviceConfiguration()
		if err != nil {
			return nil, err
		}
		cfg.SetSocketDevicesVirtualMachineConfiguration([]vz.SocketDeviceConfiguration{sock})
	}
	if s.MemoryBalloon {
		balloon, err := vz.NewVirtioTraditionalMemoryBalloonDeviceConfiguration()
		if err != nil {
			return nil, err
		}
		cfg.SetMemoryBalloonDevicesVirtualMachineConfiguration([]vz.MemoryBalloonDeviceConfiguration{balloon})
	}
	if s.Entropy {
		entropy, err := vz.NewVirtioEntropyDeviceConfiguration()
		if err != nil {
			return nil, err
		}
		cfg.SetEntropyDevicesVirtualMachineConfiguration([]*vz.VirtioEntropyDeviceConfiguration{entropy})
	}
	if s.GUI {
		return nil, errors.New("a GUI was planned, but this driver has no graphics device yet")
	}
	return cfg, nil
}

func bootLoader(b BootLoader) (vz.BootLoader, error) {
	switch b.Kind {
	case BootEFI:
		store, err := vz.NewEFIVariableStore(b.EFIVariableStore)
		if err != nil {
			return nil, err
		}
		efi, err := vz.NewEFIBootLoader(vz.WithEFIVariableStore(store))
		if err != nil {
			return nil, err
		}
		return efi, nil
	case BootLinux:
		opts := []vz.LinuxBootLoaderOption{vz.WithCommandLine(b.CommandLine)}
		if b.Initrd != "" {
			opts = append(opts, vz.WithInitrd(b.Initrd))
		}
		linux, err := vz.NewLinuxBootLoader(b.Kernel, opts...)
		if err != nil {
			return nil, err
		}
		return linux, nil
	}
	return nil, fmt.Errorf("unknown boot loader kind %q", b.Kind)
}

var cachingMode = map[string]vz.DiskImageCachingMode{
	CachingAutomatic: vz.DiskImageCachingModeAutomatic,
	CachingCached:    vz.DiskImageCachingModeCached,
	CachingUncached:  vz.DiskImageCachingModeUncached,
}

var syncMode = map[string]vz.DiskImageSynchronizationMode{
	SyncFull:  vz.DiskImageSynchronizationModeFull,
	SyncFsync: vz.DiskImageSynchronizationModeFsync,
	SyncNone:  vz.DiskImageSynchronizationModeNone,
}

var machineState = map[vz.VirtualMachineState]MachineState{
	vz.VirtualMachineStateStopped:   StateStopped,
	vz.VirtualMachineStateRunning:   StateRunning,
	vz.VirtualMachineStatePaused:    StatePaused,
	vz.VirtualMachineStateError:     StateError,
	vz.VirtualMachineStateStarting:  StateStarting,
	vz.VirtualMachineStatePausing:   StatePausing,
	vz.VirtualMachineStateResuming:  StateResuming,
	vz.VirtualMachineStateStopping:  StateStopping,
	vz.VirtualMachineStateSaving:    StateSaving,
	vz.VirtualMachineStateRestoring: StateRestoring,
}

// frameworkMachine is a *vz.VirtualMachine seen as a Machine.
type frameworkMachine struct {
	vm      *vz.VirtualMachine
	changes chan MachineState
}

func (m *frameworkMachine) Start() error               { return m.vm.Start() }
func (m *frameworkMachine) RequestStop() (bool, error) { return m.vm.RequestStop() }
func (m *frameworkMachine) Stop() error                { return m.vm.Stop() }
func (m *frameworkMachine) State() MachineState        { return machineState[m.vm.State()] }

func (m *frameworkMachine) StateChanged() <-chan MachineState {
	if m.changes == nil {
		m.changes = make(chan MachineState, 16)
		go func() {
			defer close(m.changes)
			for st := range m.vm.StateChangedNotify() {
				m.changes <- machineState[st]
			}
		}()
	}
	return m.changes
}

func (m *frameworkMachine) ConnectVsock(port uint32) (net.Conn, error) {
	devs := m.vm.SocketDevices()
	if len(devs) == 0 {
		return nil, errors.New("the virtual machine has no vsock device")
	}
	conn, err := devs[0].Connect(port)
	if err != nil {
		return nil, err
	}
	return conn, nil
}
