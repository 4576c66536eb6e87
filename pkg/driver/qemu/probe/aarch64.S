/*
 * The aarch64 KVM probe guest: firmware for `qemu-system-aarch64 -machine virt -bios`.
 *
 * QEMU loads it into the flash at address 0 and starts it at EL1 (KVM, or TCG without EL2/EL3).
 * It walks the path a Linux kernel needs the accelerator to support: exception vectors
 * (VBAR_EL1), translation tables in RAM with MAIR/TCR/TTBR0, the MMU on (SCTLR_EL1.M), a load
 * through a non-identity mapping, and an exception (svc) that returns with eret. Only after all
 * of that does it ask PSCI for SYSTEM_OFF through hvc (the virt machine's conduit both under KVM
 * and under TCG without EL2/EL3), and QEMU exits with status 0.
 *
 * Progress: after each step it writes a stage byte ('1', '2', ...) to the PL011 data register
 * (0x09000000); QEMU sends it to the chardev without any UART set-up. '!' means an unexpected
 * exception, '?' a wrong result. See aarch64Stages in probeguest.go for the names of the stages.
 *
 * Memory: the flash (0-2 MiB, the code) is mapped read-only normal memory, the PL011's 2 MiB
 * as device memory, RAM (the GiB at 0x40000000) normal memory, and the same RAM again at
 * ALIAS. The tables live in RAM, 1 MiB in (clear of the DTB QEMU puts at the start of RAM).
 *
 * Regenerate aarch64.bin: go test ./pkg/driver/qemu -run TestProbeImagesMatchSource -update
 */

	.equ UART,		0x09000000		/* PL011 UARTDR */
	.equ RAM,		0x40000000
	.equ L1,		RAM + 0x100000		/* 4 KiB granule, 39-bit VA: starts at level 1 */
	.equ L2,		L1 + 0x1000		/* 2 MiB blocks for the first GiB */
	.equ TABLES_END,	L2 + 0x1000
	.equ SCRATCH,		RAM + 0x110000
	.equ ALIAS,		0x80000000		/* VA of a second mapping of RAM */
	.equ STACK_TOP,		RAM + 0x200000
	.equ MAGIC,		0x4c494d41		/* "LIMA" */

	.equ PSCI_SYSTEM_OFF,	0x84000008
	.equ ESR_EC_SVC64,	0x15

	/* Descriptors: block/table type, AF, shareability, AP, AttrIndx, XN. */
	.equ DESC_TABLE,	0x3
	.equ DESC_BLOCK,	0x1
	.equ DESC_AF,		1 << 10
	.equ DESC_SH_INNER,	3 << 8
	.equ DESC_AP_RO,	2 << 6
	.equ DESC_NORMAL,	1 << 2			/* MAIR attr 1 */
	.equ DESC_DEVICE,	0 << 2			/* MAIR attr 0 */
	.equ DESC_XN,		(1 << 53) | (1 << 54)	/* PXN, UXN */
	.equ BLOCK_MEM,		DESC_BLOCK | DESC_AF | DESC_SH_INNER | DESC_NORMAL
	.equ BLOCK_DEV,		DESC_BLOCK | DESC_AF | DESC_DEVICE | DESC_XN

	.equ MAIR,		0xff << 8		/* attr 0: Device-nGnRnE, attr 1: Normal WB */
	/* T0SZ=25 (39-bit VA), IRGN0=ORGN0=WB WA, SH0 inner, TG0 4 KiB, EPD1 (no TTBR1 walks), IPS 4 GiB */
	.equ TCR,		25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23)
	.equ SCTLR_SET,		(1 << 0) | (1 << 2) | (1 << 12)			/* M, C, I */
	.equ SCTLR_CLEAR,	(1 << 1) | (1 << 19) | (1 << 24) | (1 << 25)	/* A, WXN, E0E, EE */

/* Report stage \n on the PL011; stop there when stop_after says so (tests make half-way probes). */
.macro report n
	mov	w9, #\n
	mov	x10, #UART
	str	w9, [x10]
.endm

.macro stage n
	report	\n
	adr	x10, stop_after
	ldrb	w10, [x10]
	cmp	w10, #\n
	b.eq	hang
.endm

	.text
	.global	_start
_start:
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	ldr	x0, =STACK_TOP
	mov	sp, x0
	stage	'1'				/* running at EL1, vectors installed */

	ldr	x0, =L1
	ldr	x1, =TABLES_END
1:	str	xzr, [x0], #8
	cmp	x0, x1
	b.lo	1b
	ldr	x0, =L1
	ldr	x1, =L2 | DESC_TABLE
	str	x1, [x0, #0 * 8]		/* 0-1 GiB: the L2 table */
	ldr	x1, =RAM | BLOCK_MEM
	str	x1, [x0, #1 * 8]		/* 1-2 GiB: RAM */
	str	x1, [x0, #(ALIAS >> 30) * 8]	/* ALIAS: RAM again */
	ldr	x0, =L2
	ldr	x1, =0 | BLOCK_MEM | DESC_AP_RO
	str	x1, [x0, #0 * 8]		/* the flash: this code */
	ldr	x1, =UART | BLOCK_DEV
	str	x1, [x0, #(UART >> 21) * 8]
	/* The MMU is off, so those stores went to memory: drop stale cache lines the walker might see. */
	dsb	sy
	mrs	x2, ctr_el0
	ubfx	x2, x2, #16, #4			/* DminLine: log2 of the line size in words */
	mov	x3, #4
	lsl	x3, x3, x2
	ldr	x0, =L1
	ldr	x1, =TABLES_END
2:	dc	ivac, x0
	add	x0, x0, x3
	cmp	x0, x1
	b.lo	2b
	dsb	sy
	ldr	x0, =MAIR
	msr	mair_el1, x0
	ldr	x0, =TCR
	msr	tcr_el1, x0
	ldr	x0, =L1
	msr	ttbr0_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	stage	'2'				/* translation tables, MAIR, TCR, TTBR0 */

	mrs	x0, sctlr_el1
	ldr	x1, =SCTLR_SET
	orr	x0, x0, x1
	ldr	x1, =SCTLR_CLEAR
	bic	x0, x0, x1
	msr	sctlr_el1, x0
	isb
	stage	'3'				/* the MMU is on */

	ldr	x0, =SCRATCH
	ldr	x1, =MAGIC
	str	x1, [x0]
	ldr	x2, =SCRATCH - RAM + ALIAS
	ldr	x3, [x2]
	cmp	x3, x1
	b.ne	bad
	stage	'4'				/* a load through a non-identity mapping */

	mov	x20, #0
	svc	#0x2a
	ldr	x1, =MAGIC
	cmp	x20, x1
	b.ne	bad
	stage	'5'				/* svc and eret through VBAR_EL1 */

	ldr	x0, =PSCI_SYSTEM_OFF
	hvc	#0
	b	hang

svc_handler:
	mrs	x21, esr_el1
	lsr	x21, x21, #26
	cmp	x21, #ESR_EC_SVC64
	b.ne	unexpected
	ldr	x20, =MAGIC
	eret

unexpected:
	report	'!'
	b	hang

bad:
	report	'?'

hang:
	wfi
	b	hang

	.ltorg

/* Tests patch the byte after this marker to make the probe stop after that stage. */
	.ascii	"lima-probe-stop-after:"
stop_after:
	.byte	0xff

/* 16 entries of 0x80 bytes; only a synchronous exception from EL1 with SP_EL1 (svc) is expected. */
	.balign	2048
vectors:
	.rept	4
	b	unexpected
	.balign	0x80
	.endr
	b	svc_handler
	.balign	0x80
	.rept	11
	b	unexpected
	.balign	0x80
	.endr
