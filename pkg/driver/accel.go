package driver

// AccelFallback is implemented by drivers that choose a hardware accelerator which, on some hosts,
// starts the hypervisor but never runs the guest: on nested or paravirtualised clouds KVM may run a
// probe guest and still leave a Linux kernel hung before its first instruction of output. It is
// optional; the host agent discovers it with a type assertion after Start.
//
// The host agent's use of it: after Start, if CanFallBack, it waits a bounded time for a sign of life
// (console output, an SSH banner). Without one it calls Kill, waits for Start's channel, calls
// DisableAccelerator, and calls Start again, which then emulates.
type AccelFallback interface {
	// Accelerator names the accelerator the guest of the last Start runs under ("kvm", "hvf",
	// "tcg"), or "" before any Start. CanFallBack is true only for a hardware accelerator the driver
	// chose itself; never for emulation, and never for an accelerator the user forced (for qemu,
	// LIMA_QEMU_ACCEL), which is kept whatever happens.
	Accelerator() (name string, canFallBack bool)

	// DisableAccelerator records that the accelerator of the last Start showed no sign of life, and
	// why, so that the next Start, of this instance and of every other one on this host until the
	// hypervisor binary or the host kernel changes, uses emulation. The guest must already have been
	// killed. It returns the path of the record, for the message that tells the user how to undo it.
	DisableAccelerator(reason string) (record string, err error)
}
