/* SPDX-License-Identifier: MIT */
/*
 * The VMM's option ROM that boots a Linux kernel from fw_cfg under SeaBIOS (boot.h,
 * boot_linuxboot_rom). SeaBIOS runs option ROMs it finds as fw_cfg files genroms/NAME: it
 * calls the init entry at offset 3 (nothing to do: far return) and adds the PnP header's
 * bootstrap entry vector (BEV) to its boot list, at the place bootorder gives
 * "/rom@genroms/NAME". The BEV, in real mode:
 *   - for each of setup, kernel, initrd and command line, reads the item's ADDR and SIZE
 *     (32-bit little endian) and then DMA-reads SIZE bytes of its DATA item to ADDR; a part of
 *     size 0 (no initrd) is skipped;
 *   - enters the real-mode setup as the boot protocol says (Documentation/arch/x86/boot.rst,
 *     "Running the kernel"): DS = ES = FS = GS = SS = setup >> 4, SP = 0xe000 (the VMM
 *     set heap_end_ptr 0x200 below it), far jump to (setup >> 4) + 0x20 : 0, interrupts off.
 * fw_cfg's DMA interface (QEMU's fw_cfg.rst): a 16-byte access structure {be32 control,
 * be32 length, be64 address}; its physical address, big endian, goes to ports 0x514 (high)
 * and 0x518 (low, which starts it); control reads 0 when done, bit 0 on an error (the ROM
 * then halts: the VMM reported the error already).
 * mkrom.py pads the image to 512-byte blocks, fills the size byte and both checksums.
 */
	.code16
	.text
	.globl _start

#define FW_CFG_DMA_HI	0x514
#define FW_CFG_DMA_LO	0x518
#define DMA_SELECT_READ	0x0a	/* SELECT | READ */
#define ACCESS		0x600	/* the DMA access structure, in free low memory */
#define VALUE		0x610	/* an ADDR or SIZE item read */
#define PART_ADDR	0x614
#define SETUP_ADDR	0x618
#define STACK_TOP	0x7c00

_start:
	.byte 0x55, 0xaa	/* option ROM signature */
	.byte 0			/* size in 512-byte blocks (mkrom.py) */
	jmp init		/* offset 3: the init entry */
	.org 0x18
	.word 0			/* no PCI data structure */
	.word pnp		/* the PnP expansion header */

	.balign 16
pnp:
	.ascii "$PnP"
	.byte 1			/* structure revision */
	.byte 2			/* length in 16-byte units */
	.word 0			/* no next header */
	.byte 0			/* reserved */
	.byte 0			/* checksum (mkrom.py) */
	.long 0			/* device identifier */
	.word name		/* manufacturer */
	.word name		/* product name */
	.byte 0, 0, 0		/* device type */
	.byte 0x14		/* device indicators: IPL device, may be shadowed */
	.word 0			/* boot connection vector */
	.word 0			/* disconnect vector */
	.word bev		/* bootstrap entry vector */
	.word 0			/* reserved */
	.word 0			/* static resource information vector */

name:
	.asciz "vmm Linux boot"

/* ADDR, SIZE and DATA keys of each part, in load order (fw_cfg.rst "Selector Register"). */
parts:
	.word 0x16, 0x17, 0x18	/* setup */
	.word 0x07, 0x08, 0x11	/* kernel */
	.word 0x0a, 0x0b, 0x12	/* initrd */
	.word 0x13, 0x14, 0x15	/* command line */
parts_end:

init:
	lret

/* DMA-read ECX bytes of item BX to physical address EDI. DS = 0. */
dma_read:
	movzwl %bx, %eax
	shll $16, %eax
	orl $DMA_SELECT_READ, %eax
	bswapl %eax
	movl %eax, ACCESS
	movl %ecx, %eax
	bswapl %eax
	movl %eax, ACCESS + 4
	movl $0, ACCESS + 8
	movl %edi, %eax
	bswapl %eax
	movl %eax, ACCESS + 12
	xorl %eax, %eax
	movw $FW_CFG_DMA_HI, %dx
	outl %eax, %dx
	movl $ACCESS, %eax
	bswapl %eax
	movw $FW_CFG_DMA_LO, %dx
	outl %eax, %dx
1:	movl ACCESS, %eax
	bswapl %eax
	testl $1, %eax
	jnz dead
	testl %eax, %eax
	jnz 1b
	ret

/* Read the 4-byte item BX into EAX. */
read_value:
	movl $4, %ecx
	movl $VALUE, %edi
	call dma_read
	movl VALUE, %eax
	ret

bev:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $STACK_TOP, %sp
	movw $parts, %si
next_part:
	movw %cs:(%si), %bx
	call read_value
	movl %eax, PART_ADDR
	cmpw $parts, %si
	jne 2f
	movl %eax, SETUP_ADDR
2:	movw %cs:2(%si), %bx
	call read_value
	testl %eax, %eax
	jz 3f
	movl %eax, %ecx
	movl PART_ADDR, %edi
	movw %cs:4(%si), %bx
	call dma_read
3:	addw $6, %si
	cmpw $parts_end, %si
	jb next_part

	movl SETUP_ADDR, %eax
	shrl $4, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movw $0xe000, %sp
	addw $0x20, %ax
	pushw %ax
	pushw $0
	lret

dead:
	cli
	hlt
	jmp dead
