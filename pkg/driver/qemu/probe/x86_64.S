/*
 * The x86_64 KVM probe guest: a BIOS image for `qemu-system-x86_64 -machine q35 -bios`.
 *
 * From the reset vector it walks the path a Linux kernel needs the accelerator to support:
 * real mode -> 32-bit protected mode -> PAE paging with EFER.LME -> 64-bit long mode, then CPUID,
 * control register writes, and a software interrupt through a 64-bit IDT. Only after all of that
 * does it write PROBE_EXIT to isa-debug-exit (QEMU exits with status PROBE_EXIT*2+1).
 *
 * Progress: after each step it writes a stage byte ('1', '2', ...) to COM1 (0x3f8); QEMU's
 * 16550 sends it to the chardev without any UART set-up. '!' means an unexpected exception,
 * '?' a wrong result. See x86Stages in probeguest.go for the names of the stages.
 *
 * Layout: linked at its ROM address. QEMU maps the 64 KiB BIOS read-only at 0xf0000-0xfffff (and
 * at the top of 4 GiB, where the CPU starts); this code sits at the end of it (.text from 0xff800,
 * .reset at 0xffff0) and ProbeBIOS pads the front with zeros. Page tables, the IDT and the stack
 * are built in RAM below 640 KiB. The GDT lives in the ROM with the accessed bits preset, so the
 * CPU never needs to write it.
 *
 * Regenerate x86_64.bin: go test ./pkg/driver/qemu -run TestProbeImagesMatchSource -update
 */

	.equ ROM,		0xf0000		/* where CS:0 points in real mode (CS = 0xf000) */
	.equ COM1,		0x3f8
	.equ DEBUG_EXIT,	0xf4		/* -device isa-debug-exit,iobase=0xf4 */
	.equ PROBE_EXIT,	0x2a		/* probeExitValue */

	.equ CODE32,		0x08		/* GDT selectors */
	.equ DATA,		0x10
	.equ CODE64,		0x18

	.equ PML4,		0x1000		/* page tables in RAM, one page each */
	.equ PDPT,		0x2000
	.equ PD,		0x3000
	.equ SCRATCH,		0x5000		/* a word written at its identity address ... */
	.equ ALIAS,		0x3fe00000	/* ... and read back through this 2 MiB alias of 0-2 MiB */
	.equ IDT,		0x6000		/* 256 gates of 16 bytes */
	.equ STACK_TOP,		0x80000

	.equ SOFT_VECTOR,	0x40		/* the vector taken with `int` */
	.equ MAGIC,		0x4c494d41	/* "LIMA" */

	.equ CR0_PE,		1 << 0
	.equ CR0_WP,		1 << 16
	.equ CR0_PG,		1 << 31
	.equ CR4_PAE,		1 << 5
	.equ CR4_OSFXSR,	1 << 9
	.equ CR4_OSXMMEXCPT,	1 << 10
	.equ MSR_EFER,		0xc0000080
	.equ EFER_LME,		1 << 8
	.equ EFER_LMA,		1 << 10
	.equ PTE_P_RW,		0x003		/* present, writable */
	.equ PTE_2M,		0x083		/* present, writable, 2 MiB page */

/* Report stage \n on COM1; stop there when stop_after says so (tests make half-way probes). */
.macro report n
	mov	$\n, %al
	mov	$COM1, %dx
	out	%al, %dx
.endm

.macro stage16 n
	report	\n
	cmpb	$\n, %cs:(stop_after - ROM)
	je	hang
.endm

.macro stage n			/* 32- and 64-bit code: flat segments */
	report	\n
	cmpb	$\n, stop_after
	je	hang
.endm

	.text
	.code16
start16:
	cli
	cld
	stage16	'1'				/* real mode: the first instructions ran */
	lgdtl	%cs:(gdt_desc - ROM)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$CODE32, $start32

	.code32
start32:
	mov	$DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	$STACK_TOP, %esp
	stage	'2'				/* 32-bit protected mode */

	/* Identity-map 0-2 MiB with one 2 MiB page, and alias it at ALIAS. */
	mov	$PML4, %edi
	xor	%eax, %eax
	mov	$(3 * 4096 / 4), %ecx
	rep stosl
	movl	$(PDPT + PTE_P_RW), PML4
	movl	$(PD + PTE_P_RW), PDPT
	movl	$PTE_2M, PD
	movl	$PTE_2M, PD + (ALIAS >> 21) * 8
	mov	$PML4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	rdmsr
	test	$EFER_LME, %eax
	jz	bad
	stage	'3'				/* page tables, CR4.PAE, EFER.LME */

	mov	%cr0, %eax
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	ljmp	$CODE64, $start64

	.code64
start64:
	mov	$DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$STACK_TOP, %esp
	mov	$MSR_EFER, %ecx
	rdmsr
	test	$EFER_LMA, %eax
	jz	bad
	stage	'4'				/* 64-bit long mode with paging */

	movl	$MAGIC, SCRATCH
	mov	ALIAS + SCRATCH, %eax
	cmp	$MAGIC, %eax
	jne	bad
	stage	'5'				/* a load through a non-identity mapping */

	/* What a kernel's early CPU check asks: basic and extended leaves, and long mode. */
	xor	%eax, %eax
	cpuid
	cmp	$1, %eax
	jb	bad
	mov	$0x80000000, %eax
	cpuid
	cmp	$0x80000001, %eax
	jb	bad
	mov	$0x80000001, %eax
	cpuid
	bt	$29, %edx			/* LM */
	jnc	bad
	stage	'6'				/* CPUID */

	mov	%cr4, %rax
	or	$(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
	mov	%rax, %cr4
	mov	%cr4, %rbx
	cmp	%rax, %rbx
	jne	bad
	mov	%cr0, %rax
	or	$CR0_WP, %rax
	mov	%rax, %cr0
	mov	%cr3, %rax
	mov	%rax, %cr3			/* and a TLB flush */
	stage	'7'				/* control register writes */

	/* Every vector goes to `unexpected`, except SOFT_VECTOR. */
	mov	$unexpected, %eax
	call	gate
	mov	$IDT, %edi
	mov	$256, %ecx
1:	mov	%rdx, (%rdi)
	movq	$0, 8(%rdi)
	add	$16, %rdi
	loop	1b
	mov	$soft_isr, %eax
	call	gate
	mov	%rdx, IDT + SOFT_VECTOR * 16
	lidt	idt_desc
	xor	%r12d, %r12d
	int	$SOFT_VECTOR
	cmp	$MAGIC, %r12d
	jne	bad
	stage	'8'				/* int and iretq through the IDT */

	mov	$PROBE_EXIT, %al
	out	%al, $DEBUG_EXIT
	jmp	hang

/* gate: %rdx = the low half of a present 64-bit interrupt gate to %eax (a handler below 4 GiB). */
gate:
	mov	%eax, %edx
	and	$0xffff, %edx
	shr	$16, %eax
	shl	$48, %rax
	or	%rax, %rdx
	movabs	$((CODE64 << 16) | (0x8e << 40)), %rax
	or	%rax, %rdx
	ret

soft_isr:
	mov	$MAGIC, %r12d
	iretq

unexpected:
	report	'!'
	jmp	hang

bad:
	report	'?'

/* The same bytes halt in 16-, 32- and 64-bit code. */
hang:
	cli
	hlt
	jmp	hang

	.balign	8
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff		/* CODE32: base 0, limit 4 GiB, accessed */
	.quad	0x00cf93000000ffff		/* DATA */
	.quad	0x00af9b000000ffff		/* CODE64: L=1 */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
idt_desc:
	.word	256 * 16 - 1
	.quad	IDT

/* Tests patch the byte after this marker to make the probe stop after that stage. */
	.ascii	"lima-probe-stop-after:"
stop_after:
	.byte	0xff

	.section .reset, "ax"
	.code16
reset:
	ljmp	$(ROM >> 4), $(start16 - ROM)
	.balign	16, 0
