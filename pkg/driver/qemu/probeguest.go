package qemu

import (
	_ "embed"
	"fmt"
)

// The probe guests are assembled from probe/*.S (GNU as) into the committed probe/*.bin files;
// TestProbeImagesMatchSource checks that they match their source, and rewrites them with -update.
// Running the probe needs no assembler.
//
//go:generate go test -run TestProbeImagesMatchSource -update
var (
	//go:embed probe/x86_64.bin
	probeX8664 []byte
	//go:embed probe/aarch64.bin
	probeAarch64 []byte
)

// probeExitValue is what the x86 probe guest writes to the isa-debug-exit port; QEMU then exits with
// status (value << 1) | 1.
const probeExitValue = 0x2a

// ProbeBIOS returns a 64 KiB x86 BIOS image (probe/x86_64.S) that, from the reset vector, enters
// protected mode, turns on PAE paging and long mode, executes CPUID, writes control registers and
// takes a software interrupt through a 64-bit IDT, reporting each stage on COM1 (x86Stages). Only
// then does it write 0x2a to isa-debug-exit (iobase 0xf4): QEMU exits with status 85.
func ProbeBIOS() []byte {
	bios := make([]byte, 64<<10) // QEMU wants a multiple of 64 KiB; the code sits at its end
	copy(bios[len(bios)-len(probeX8664):], probeX8664)
	return bios
}

// ProbeFirmwareAarch64 returns firmware for the aarch64 virt machine (probe/aarch64.S) that installs
// exception vectors, builds translation tables, turns the MMU on at EL1, loads through a
// non-identity mapping and takes an svc exception, reporting each stage on the PL011
// (aarch64Stages). Only then does it ask PSCI for SYSTEM_OFF through hvc: QEMU exits with status 0.
func ProbeFirmwareAarch64() []byte {
	return append([]byte(nil), probeAarch64...)
}

// probeStages names, in order, the steps a probe guest reports: it writes '1' to its serial port
// once it has done the first, '2' once it has done the second, and so on ('!' for an unexpected
// exception, '?' for a wrong result). These are what a Linux kernel needs the accelerator to do.
type probeStages []string

var (
	x86Stages = probeStages{
		"starting in real mode",
		"entering 32-bit protected mode",
		"building page tables and setting CR4.PAE and EFER.LME",
		"turning on paging and entering 64-bit long mode",
		"reading memory through a non-identity page mapping",
		"checking CPUID for long mode",
		"writing control registers CR4, CR0 and CR3",
		"taking a software interrupt through the IDT with int and returning with iretq",
	}
	aarch64Stages = probeStages{
		"starting at EL1 and setting the exception vectors in VBAR_EL1",
		"building translation tables and setting MAIR, TCR and TTBR0",
		"turning on the MMU with SCTLR_EL1.M",
		"reading memory through a non-identity mapping",
		"taking an exception with svc and returning with eret",
	}
)

// progress reads what a probe guest wrote to its stage log: the last stage it completed (0: none)
// and a phrase for an error message ("stopped after X (before Y)").
func (s probeStages) progress(log []byte) (reached int, phrase string) {
	var fault string
	for _, b := range log {
		switch {
		case b >= '1' && int(b-'0') <= len(s):
			reached = max(reached, int(b-'0'))
		case b == '!':
			fault = "took an unexpected exception"
		case b == '?':
			fault = "got a wrong result"
		}
	}
	next := "signalling success"
	if reached < len(s) {
		next = s[reached]
	}
	switch {
	case reached == 0 && fault == "":
		return 0, "did not report its first stage (" + next + ")"
	case reached == 0:
		return 0, fault + " while " + next
	case fault != "":
		return reached, fmt.Sprintf("%s after %s, while %s", fault, s[reached-1], next)
	}
	return reached, fmt.Sprintf("stopped after %s (before %s)", s[reached-1], next)
}
