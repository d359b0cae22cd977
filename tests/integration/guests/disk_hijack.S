/* SPDX-License-Identifier: MIT */
/*
 * A guest that tries to change how the host opens its own disk: through the tiny virtio-blk
 * driver (virtio_blk.inc) it writes a VMDK descriptor into sector 0, one whose FLAT extent
 * names secret.raw, a file next to the disk image (a raw disk probed with format auto would
 * open as that VMDK at the next boot, reading and writing the other file). It prints whether
 * the write was refused, then the first 21 bytes of sector 0 as read back. Exit status 0, or
 * the failing step's code.
 */
#include "lifecycle.inc"
#include "virtio_blk.inc"
	LC_START
	PUTS "disk hijack\n"
	VBLK_ENTER_PM32
	call vblk_setup
	call vblk_start
	mov $descriptor, %esi
	mov $DATA, %edi
	mov $512, %ecx
	rep movsb
	mov $1, %eax                  /* VIRTIO_BLK_T_OUT */
	xor %edx, %edx                /* sector 0 */
	mov $0, %ecx
	call request
	jne 1f
	PUTS32 "descriptor written\n"
	jmp 2f
1:	PUTS32 "descriptor write refused\n"
2:	mov $0, %eax                  /* VIRTIO_BLK_T_IN */
	xor %edx, %edx
	mov $2, %ecx                  /* VIRTQ_DESC_F_WRITE */
	call request
	mov $6, %al
	jne fail
	movb $0, DATA + 21
	PUTS32 "sector 0: "
	mov $DATA, %esi
	call puts32
	PUTS32 "\n"
	xor %al, %al
	jmp fail

	.p2align 4
descriptor:
	.ascii "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
	.ascii "createType=\"monolithicFlat\"\nRW 2048 FLAT \"secret.raw\" 0\n"
	.fill 512 - (. - descriptor), 1, 0

	VBLK_ROUTINES
