// SPDX-License-Identifier: MIT
/*
 * Host-side decompression of a bzImage's kernel (the "payload": boot.rst fields payload_offset
 * and payload_length, protocol 2.08+). The decompressor stub inside a bzImage would otherwise
 * do this in the guest; under the BT engine that costs from 0.1 (LZ4) to several (XZ) billion
 * interpreted instructions, so the loader does it here and places the vmlinux ELF's PT_LOAD
 * segments at their physical addresses, then enters the kernel's own startup_64 through the
 * same 64-bit boot protocol state (boot.rst "64-bit Boot Protocol": the decompressed kernel
 * is entered exactly like that, with %rsi pointing at boot_params).
 *
 * Formats (the first bytes of the payload, as arch/x86/boot/compressed's Makefile makes them):
 * gzip (1F 8B, zlib), XZ (FD '7zXZ' 00, liblzma) and the LZ4 legacy frame (02 21 4C 18,
 * liblz4: blocks of [u32 compressed size][data], each at most 8 MiB decompressed). The last
 * four bytes of every payload hold the decompressed size (mkpiggy).
 *
 * ELF: the ELF-64 specification (program headers, PT_LOAD with p_paddr/p_filesz/p_memsz).
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define UNPACK_MAX_OUT	 (512ull << 20) /* no kernel is this large; refuse rather than OOM */
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)

static int unpack_gzip(const u8 *in, size_t in_len, u8 *out, size_t out_len, struct err *err)
{
	z_stream z = { 0 };
	int zr;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return err_set(err, -ENOMEM, "gzip: cannot initialise zlib");
	z.next_in = (u8 *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	zr = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (zr != Z_STREAM_END || z.total_out != out_len)
		return err_set(err, -EINVAL, "gzip: corrupt data (zlib: %s, %lu of %zu bytes)",
			       z.msg ? z.msg : "short", z.total_out, out_len);
	return 0;
}

static int unpack_xz(const u8 *in, size_t in_len, u8 *out, size_t out_len, struct err *err)
{
	u64 memlimit = 256ull << 20;
	size_t in_pos = 0, out_pos = 0;
	lzma_ret r;

	r = lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &in_pos, in_len, out, &out_pos,
				      out_len);
	if (r != LZMA_OK || out_pos != out_len)
		return err_set(err, -EINVAL,
			       "xz: corrupt data (liblzma error %d, %zu of %zu bytes)", (int)r,
			       out_pos, out_len);
	return 0;
}

static int unpack_lz4(const u8 *in, size_t in_len, u8 *out, size_t out_len, struct err *err)
{
	size_t pos = 0, done = 0;

	while (pos + 4 <= in_len && done < out_len) {
		u32 csize = boot_get32(in + pos);
		int n;

		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC) /* concatenated frames */
			continue;
		if (csize > in_len - pos || csize > (u32)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return err_set(err, -EINVAL, "lz4: block of %u bytes at %zu is truncated",
				       csize, pos);
		n = LZ4_decompress_safe((const char *)in + pos, (char *)out + done, (int)csize,
					(int)MIN(out_len - done, (size_t)LZ4_LEGACY_BLOCK));
		if (n < 0)
			return err_set(err, -EINVAL, "lz4: corrupt block at %zu", pos);
		pos += csize;
		done += (size_t)n;
	}
	if (done != out_len)
		return err_set(err, -EINVAL, "lz4: %zu of %zu bytes decompressed", done, out_len);
	return 0;
}

/* Place the ELF's PT_LOAD segments; returns the entry's physical address in *entry. */
static int unpack_load_elf(const u8 *elf, size_t len, struct gmem *mem, u64 lo, u64 hi, u64 *entry,
			   struct err *err)
{
	u64 phoff, e_entry, delta = 0;
	unsigned phnum, phentsize;
	bool have_delta = false;

	if (len < 64 || memcmp(elf, "\177ELF", 4) || elf[4] != 2 || elf[5] != 1 ||
	    boot_get16(elf + 18) != 62)
		return err_set(err, -EINVAL, "payload is not an x86-64 ELF (vmlinux)");
	e_entry = boot_get64(elf + 24);
	phoff = boot_get64(elf + 32);
	phentsize = boot_get16(elf + 54);
	phnum = boot_get16(elf + 56);
	if (phentsize < 56 || phoff > len || (u64)phnum * phentsize > len - phoff)
		return err_set(err, -EINVAL, "vmlinux: program headers out of bounds");
	for (unsigned i = 0; i < phnum; i++) {
		const u8 *ph = elf + phoff + (u64)i * phentsize;
		u64 off = boot_get64(ph + 8), vaddr = boot_get64(ph + 16);
		u64 paddr = boot_get64(ph + 24), filesz = boot_get64(ph + 32);
		u64 memsz = boot_get64(ph + 40);
		u8 *zero;

		if (boot_get32(ph) != 1 /* PT_LOAD */ || !memsz)
			continue;
		if (filesz > memsz || off > len || filesz > len - off || paddr < lo || paddr > hi ||
		    memsz > hi - paddr)
			return err_set(err, -EINVAL,
				       "vmlinux: segment %u (%#llx+%#llx) outside the kernel's "
				       "area [%#llx, %#llx)",
				       i, (unsigned long long)paddr, (unsigned long long)memsz,
				       (unsigned long long)lo, (unsigned long long)hi);
		if (gmem_write(mem, paddr, elf + off, filesz) < 0)
			return err_set(err, -EFAULT, "vmlinux: segment %u not in guest RAM", i);
		if (memsz > filesz) {
			zero = calloc(1, memsz - filesz);
			if (!zero)
				return err_set(err, -ENOMEM, "vmlinux: out of memory");
			if (gmem_write(mem, paddr + filesz, zero, memsz - filesz) < 0) {
				free(zero);
				return err_set(err, -EFAULT, "vmlinux: segment %u not in guest RAM",
					       i);
			}
			free(zero);
		}
		/* The entry is a physical address, or a virtual one in a segment (delta). */
		if (!have_delta && e_entry >= vaddr && e_entry - vaddr < memsz) {
			delta = vaddr - paddr;
			have_delta = true;
		}
	}
	*entry = e_entry >= lo && e_entry < hi ? e_entry : e_entry - delta;
	if (*entry < lo || *entry >= hi)
		return err_set(err, -EINVAL, "vmlinux: entry point %#llx is outside the kernel",
			       (unsigned long long)e_entry);
	return 0;
}

int linux_unpack(struct boot_file *f, u64 pm_offset, u32 payload_off, u32 payload_len,
		 struct gmem *mem, u64 lo, u64 hi, u64 *entry, struct err *err)
{
	u8 *in = NULL, *out = NULL;
	const char *fmt;
	size_t out_len;
	int ret;

	if (payload_len < 16 || pm_offset + payload_off + (u64)payload_len > f->size)
		return err_set(err, -EINVAL, "payload (%u bytes at %#x) is outside the file",
			       payload_len, payload_off);
	in = malloc(payload_len);
	if (!in)
		return err_set(err, -ENOMEM, "out of memory for the %u-byte payload", payload_len);
	ret = boot_file_read(f, pm_offset + payload_off, in, payload_len, err);
	if (ret)
		goto out_free;
	out_len = boot_get32(in + payload_len - 4);
	if (out_len < 64 || out_len > UNPACK_MAX_OUT || out_len > hi - lo) {
		ret = err_set(err, -EINVAL, "payload claims %zu decompressed bytes", out_len);
		goto out_free;
	}
	out = malloc(out_len);
	if (!out) {
		ret = err_set(err, -ENOMEM, "out of memory for the %zu-byte kernel", out_len);
		goto out_free;
	}
	if (in[0] == 0x1f && in[1] == 0x8b) {
		fmt = "gzip";
		ret = unpack_gzip(in, payload_len - 4, out, out_len, err);
	} else if (!memcmp(in, "\3757zXZ", 6)) {
		fmt = "xz";
		ret = unpack_xz(in, payload_len - 4, out, out_len, err);
	} else if (boot_get32(in) == LZ4_LEGACY_MAGIC) {
		fmt = "lz4";
		ret = unpack_lz4(in + 4, payload_len - 8, out, out_len, err);
	} else {
		ret = err_set(err, -ENOTSUP,
			      "payload format %02x %02x %02x %02x is not one the "
			      "loader decompresses (gzip, xz, lz4)",
			      in[0], in[1], in[2], in[3]);
		goto out_free;
	}
	if (!ret)
		ret = unpack_load_elf(out, out_len, mem, lo, hi, entry, err);
	if (!ret)
		log_info(
			"kernel %s: decompressed its %s payload on the host (%zu KiB), entry %#llx",
			f->path, fmt, out_len >> 10, (unsigned long long)*entry);
out_free:
	free(out);
	free(in);
	return ret;
}
