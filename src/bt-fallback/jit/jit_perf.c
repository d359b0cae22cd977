// SPDX-License-Identifier: MIT
/*
 * Telling perf where compiled blocks are (jit.h, docs/bt-jit.md "Profiling"), off unless the
 * environment asks for it:
 *
 * - VMM_BT_PERF_MAP=1: /tmp/perf-<pid>.map, one "<start> <size> <name>" line (hex) per block,
 *   perf's simple interface (tools/perf/Documentation/jit-interface.txt). perf reads it only
 *   for anonymous executable memory, and the code buffer is a memfd: it is for tools that
 *   resolve addresses themselves (perf script's raw IPs, scripts/bench/perf-jit.py).
 * - VMM_BT_JITDUMP=<folder>: <folder>/jit-<pid>.dump in perf's jitdump format
 *   (tools/perf/Documentation/jitdump-specification.txt): a code-load record per block with its
 *   host code, timestamped with CLOCK_MONOTONIC. The file is mapped executable once, which is
 *   how perf record (-k mono) finds it; perf inject --jit then makes an ELF object per block,
 *   so perf report and perf annotate show the blocks' names and their host instructions.
 *
 * Both are opened when a CPU is created, before the seccomp sandbox (which forbids opening
 * files for writing and mapping anything executable); each line or record is then one write(2)
 * on a descriptor the thread holds, which it allows. vCPU 0 creates the files, the others append
 * (O_APPEND keeps the writes of several vCPUs apart). A flush reuses addresses: the jitdump's
 * timestamps tell perf which code a sample ran, the map has both lines.
 */
#include "bt-fallback/jit/jit.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define JITDUMP_MAGIC	  0x4A695444u
#define JITDUMP_VERSION	  1u
#define JITDUMP_EM_X86_64 62u
#define JITDUMP_CODE_LOAD 0u

struct jitdump_header {
	u32 magic, version, total_size, elf_mach, pad1, pid;
	u64 timestamp, flags;
};

struct jitdump_code_load {
	u32 id, total_size;
	u64 timestamp;
	u32 pid, tid;
	u64 vma, code_addr, code_size, code_index;
	/* then the name with its NUL, then the code */
};

static u64 bt_jit_perf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000u + (u64)ts.tv_nsec;
}

static int bt_jit_perf_create(const char *var, const char *path, bool first)
{
	/* Read too: jitdump's marker maps the file. */
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (first ? O_TRUNC : 0), 0644);

	if (fd < 0)
		log_warn("bt: %s: cannot open %s (%s)", var, path, strerror(errno));
	return fd;
}

/* One line or record; a failed write (a full disk) ends that output. */
static void bt_jit_perf_write(int *fd, const void *buf, size_t len)
{
	if (*fd >= 0 && write(*fd, buf, len) != (ssize_t)len) {
		close(*fd);
		*fd = -1;
	}
}

static void bt_jit_perf_open_dump(const struct bt_cpu *cpu, struct bt_jit *j, const char *dir)
{
	struct jitdump_header h = { .magic = JITDUMP_MAGIC,
				    .version = JITDUMP_VERSION,
				    .total_size = sizeof(h),
				    .elf_mach = JITDUMP_EM_X86_64,
				    .pid = (u32)getpid(),
				    .timestamp = bt_jit_perf_now() };
	char path[4096];
	void *mark;

	snprintf(path, sizeof(path), "%s/jit-%d.dump", dir, (int)getpid());
	j->perf_dump = bt_jit_perf_create("VMM_BT_JITDUMP", path, cpu->index == 0);
	if (j->perf_dump < 0)
		return;
	if (cpu->index == 0)
		bt_jit_perf_write(&j->perf_dump, &h, sizeof(h));
	/* The marker perf record looks for: an executable mapping of the file (never run). */
	if (j->perf_dump < 0)
		return;
	mark = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_EXEC, MAP_PRIVATE,
		    j->perf_dump, 0);
	if (mark == MAP_FAILED) {
		log_warn("bt: VMM_BT_JITDUMP: cannot map %s (%s): perf will not find it", path,
			 strerror(errno));
		mark = NULL;
	}
	j->perf_dump_mark = mark;
}

void bt_jit_perf_open(const struct bt_cpu *cpu, struct bt_jit *j)
{
	const char *map = getenv("VMM_BT_PERF_MAP"), *dump = getenv("VMM_BT_JITDUMP");

	j->perf_map = j->perf_dump = -1;
	if (map && *map && strcmp(map, "0")) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		j->perf_map = bt_jit_perf_create("VMM_BT_PERF_MAP", path, cpu->index == 0);
	}
	if (dump && *dump)
		bt_jit_perf_open_dump(cpu, j, dump);
}

void bt_jit_perf_close(struct bt_jit *j)
{
	if (j->perf_map >= 0)
		close(j->perf_map);
	if (j->perf_dump >= 0)
		close(j->perf_dump);
	if (j->perf_dump_mark)
		munmap(j->perf_dump_mark, (size_t)sysconf(_SC_PAGESIZE));
	j->perf_map = j->perf_dump = -1;
	j->perf_dump_mark = NULL;
}

void bt_jit_perf_add(struct bt_jit *j, const void *rx, size_t len, const char *name)
{
	if (j->perf_map >= 0) {
		char line[128];
		int n = snprintf(line, sizeof(line), "%lx %zx %s\n", (unsigned long)(uintptr_t)rx,
				 len, name);

		if (n > 0 && (size_t)n < sizeof(line))
			bt_jit_perf_write(&j->perf_map, line, (size_t)n);
	}
	if (j->perf_dump >= 0) {
		size_t nlen = strlen(name) + 1,
		       total = sizeof(struct jitdump_code_load) + nlen + len;
		struct jitdump_code_load r = { .id = JITDUMP_CODE_LOAD,
					       .total_size = (u32)total,
					       .timestamp = bt_jit_perf_now(),
					       .pid = (u32)getpid(),
					       .tid = (u32)getpid(),
					       .vma = (u64)(uintptr_t)rx,
					       .code_addr = (u64)(uintptr_t)rx,
					       .code_size = len,
					       .code_index = j->perf_index++ };
		u8 *buf = malloc(total);

		if (!buf)
			return;
		memcpy(buf, &r, sizeof(r));
		memcpy(buf + sizeof(r), name, nlen);
		memcpy(buf + sizeof(r) + nlen, bt_codebuf_rw(&j->code, rx), len);
		bt_jit_perf_write(&j->perf_dump, buf, total);
		free(buf);
	}
}

void bt_jit_perf_block(struct bt_jit *j, const void *rx, size_t len, const struct bt_block *b,
		       bool user)
{
	char name[64];

	/* bt_<CPL class: s or u><mode: 64, or 32 for flat 32-bit code>_<guest RIP>_n<insns> */
	snprintf(name, sizeof(name), "bt_%c%u_%llx_n%u", user ? 'u' : 's',
		 b->mode == BT_MODE_LONG64 ? 64 : 32, (unsigned long long)b->rip, b->nr_insns);
	bt_jit_perf_add(j, rx, len, name);
}
