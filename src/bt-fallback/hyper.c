// SPDX-License-Identifier: MIT
/*
 * The engine's side of the hypercall interfaces (docs/hypercall.md):
 *  - the VMware backdoor: with the machine's backdoor on (bt_mem.backdoor), its two ports are
 *    open at any privilege level, as VMware and KVM's enable_vmware_backdoor make them (the
 *    I/O permission checks of SDM vol. 1 19.5 are skipped for them only); "IN EAX, DX" on
 *    0x5658 with the magic in EAX is one call with every general register in and out, and
 *    "REP INSB/OUTSB" on 0x5659 with the magic is one high-bandwidth transfer of RCX bytes
 *    (at most ACCEL_BACKDOOR_HB_MAX) between the machine and the guest buffer at DS:rSI
 *    (OUTSB, the segment may be overridden) or ES:rDI (INSB). The guest buffer is checked
 *    (#PF, #GP) before the machine is called, so a fault leaves the call undone, as a fault
 *    on the instruction's first byte would;
 *  - VMCALL (0F 01 C1) and VMMCALL (0F 01 D9) as KVM's hypercall ABI (Linux
 *    Documentation/virt/kvm/x86/hypercalls.rst): RAX the number, RBX, RCX, RDX, RSI the
 *    arguments, RAX the result; at CPL > 0 -KVM_EPERM; KVM_HC_VAPIC_POLL_IRQ (1) returns 0 (as
 *    KVM does); every other number -KVM_ENOSYS. Outside 64-bit mode the result is 32 bits wide.
 *    No other register changes. The engine advertises no KVM paravirtual feature, so a guest
 *    that follows the CPUID leaves never asks for more;
 *  - the VMware CPUID identity (bt_mem.vmware_cpuid): leaf 4000_0000h "VMwareVMware" with max
 *    leaf 4000_0010h, and the timing leaf 4000_0010h: EAX the TSC in kHz, EBX the local APIC
 *    timer's clock in kHz, ECX 0 (neither the VMCALL nor the VMMCALL backdoor is offered:
 *    Linux arch/x86/include/asm/vmware.h).
 */
#include "bt-fallback/bt.h"

#include <stdlib.h>
#include <string.h>

#define BT_KVM_ENOSYS		 1000 /* Linux include/uapi/linux/kvm_para.h */
#define BT_KVM_EPERM		 1
#define BT_KVM_HC_VAPIC_POLL_IRQ 1

bool bt_hyper_port(const struct bt_cpu *cpu, u16 port)
{
	return cpu->mem->backdoor &&
	       (port == ACCEL_BACKDOOR_PORT || port == ACCEL_BACKDOOR_HB_PORT);
}

static void bt_hyper_regs_in(const struct bt_cpu *cpu, struct accel_backdoor *r)
{
	r->rax = cpu->st.gpr[CPU_RAX];
	r->rbx = cpu->st.gpr[CPU_RBX];
	r->rcx = cpu->st.gpr[CPU_RCX];
	r->rdx = cpu->st.gpr[CPU_RDX];
	r->rsi = cpu->st.gpr[CPU_RSI];
	r->rdi = cpu->st.gpr[CPU_RDI];
	r->rbp = cpu->st.gpr[CPU_RBP];
}

static void bt_hyper_regs_out(struct bt_cpu *cpu, const struct accel_backdoor *r)
{
	cpu->st.gpr[CPU_RAX] = r->rax;
	cpu->st.gpr[CPU_RBX] = r->rbx;
	cpu->st.gpr[CPU_RCX] = r->rcx;
	cpu->st.gpr[CPU_RDX] = r->rdx;
	cpu->st.gpr[CPU_RSI] = r->rsi;
	cpu->st.gpr[CPU_RDI] = r->rdi;
	cpu->st.gpr[CPU_RBP] = r->rbp;
}

bool bt_hyper_in(struct bt_cpu *cpu, u16 port, unsigned size)
{
	struct accel_backdoor r = { 0 };

	if (port != ACCEL_BACKDOOR_PORT || size != 4 || !cpu->mem->backdoor ||
	    (u32)cpu->st.gpr[CPU_RAX] != ACCEL_BACKDOOR_MAGIC)
		return false;
	bt_hyper_regs_in(cpu, &r);
	cpu->mem->backdoor(cpu->mem->io_opaque, cpu->index, &r);
	/* IN EAX writes EAX, zero-extended in 64-bit mode (SDM vol. 1 3.4.1.1). */
	r.rax = (u32)r.rax;
	bt_hyper_regs_out(cpu, &r);
	return true;
}

/* Raise now any fault the transfer would take on [off, off+len) of seg (every page). */
static void bt_hyper_probe(struct bt_cpu *cpu, unsigned seg, u64 off, u32 len, unsigned asz,
			   bool write)
{
	for (u64 done = 0; done < len;) {
		u64 a = (off + done) & bt_mask(asz);
		u64 step = BT_PAGE_SIZE - (a & ~BT_PAGE_MASK);

		if (write)
			bt_probe_st(cpu, seg, a, 1);
		else
			bt_probe_ld(cpu, seg, a, 1);
		done += step;
	}
	if (len) {
		u64 last = (off + len - 1) & bt_mask(asz);

		if (write)
			bt_probe_st(cpu, seg, last, 1);
		else
			bt_probe_ld(cpu, seg, last, 1);
	}
}

bool bt_hyper_string(struct bt_cpu *cpu, const struct bt_insn *in)
{
	struct accel_backdoor r = { .hb = true };
	bool out = in->opcode == 0x6e;
	unsigned asz = in->asz, seg = out ? in->seg : CPU_ES;
	u64 count, base;

	if ((in->opcode != 0x6c && in->opcode != 0x6e) || in->rep == BT_REP_NONE ||
	    !cpu->mem->backdoor || (u16)cpu->st.gpr[CPU_RDX] != ACCEL_BACKDOOR_HB_PORT ||
	    (u32)cpu->st.gpr[CPU_RAX] != ACCEL_BACKDOOR_MAGIC)
		return false;
	count = bt_get_reg(cpu, CPU_RCX, asz);
	base = bt_get_reg(cpu, out ? CPU_RSI : CPU_RDI, asz);
	bt_hyper_regs_in(cpu, &r);
	r.hb_out = out;
	if (count <= ACCEL_BACKDOOR_HB_MAX) {
		if (!cpu->hb_buf && !(cpu->hb_buf = malloc(ACCEL_BACKDOOR_HB_MAX)))
			return false; /* no memory: the port read answers all ones */
		bt_hyper_probe(cpu, seg, base, (u32)count, asz, !out);
		r.hb_buf = cpu->hb_buf;
		r.hb_len = (u32)count;
		for (u32 i = 0; out && i < count; i++)
			r.hb_buf[i] = (u8)bt_ld(cpu, seg, (base + i) & bt_mask(asz), 1);
	}
	cpu->mem->backdoor(cpu->mem->io_opaque, cpu->index, &r);
	for (u32 i = 0; !out && r.hb_buf && i < MIN(r.hb_len, (u32)count); i++)
		bt_st(cpu, seg, (base + i) & bt_mask(asz), 1, r.hb_buf[i]);
	bt_hyper_regs_out(cpu, &r);
	return true;
}

void bt_hyper_vmcall(struct bt_cpu *cpu)
{
	bool lm = bt_cpu_mode(cpu) == BT_MODE_LONG64;
	u64 nr = lm ? cpu->st.gpr[CPU_RAX] : (u32)cpu->st.gpr[CPU_RAX];
	u64 ret;

	if (bt_cpu_mode(cpu) != BT_MODE_REAL && bt_cpu_cpl(cpu) != 0)
		ret = (u64)-BT_KVM_EPERM;
	else if (nr == BT_KVM_HC_VAPIC_POLL_IRQ)
		ret = 0;
	else
		ret = (u64)-BT_KVM_ENOSYS;
	cpu->st.gpr[CPU_RAX] = lm ? ret : (u32)ret;
}

bool bt_hyper_cpuid(const struct bt_cpu *cpu, u32 leaf, u32 out[4])
{
	static const char sig[12] = "VMwareVMware";

	if (!cpu->mem->vmware_cpuid || (leaf != 0x40000000 && leaf != 0x40000010))
		return false;
	memset(out, 0, 4 * sizeof(u32));
	if (leaf == 0x40000000) {
		out[0] = 0x40000010;
		memcpy(&out[1], sig, 12);
	} else {
		out[0] = BT_TSC_KHZ;
		out[1] = cpu->mem->apic_bus_khz;
	}
	return true;
}
