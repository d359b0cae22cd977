// SPDX-License-Identifier: MIT
/*
 * The PC board (board_pc.h): creates the platform devices in a fixed order,
 * gives each its interrupt lines and wires COM1 to the serial console.
 *
 * GSI numbering follows the ISA IRQs (the MADT's interrupt source override
 * maps IRQ0 to GSI2 for the IOAPIC; KVM's default routing does the same).
 * Under KVM the lines end in KVM_IRQ_LINE; without an in-kernel irqchip
 * (BT) they end in the userspace interrupt controllers and timers of
 * board_irqchip.c (8259 pair, PIT, I/O APIC, local APICs, HPET), whose CPU
 * side reaches the vCPUs through accel->vcpu_set_intr and vcpu_startup.
 */
#include "vmm/board_pc.h"

#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/hpet_regs.h"
#include "devices/i8042.h"
#include "devices/ich9_lpc.h"
#include "devices/mch.h"
#include "devices/pc_testdev.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "devices/piix.h"
#include "devices/piix4_pm.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/testdev.h"
#include "devices/uart.h"
#include "vmm/base/log.h"
#include "vmm/board_disks.h"
#include "vmm/board_display.h"
#include "vmm/board_fw.h"
#include "vmm/board_irqchip.h"
#include "vmm/board_nics.h"
#include "vmm/board_pci.h"
#include "vmm/board_pv.h"
#include "vmm/boot/boot.h"
#include "vmm/console.h"
#include "vmm/platform_state.h"
#include "vmm/spec.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include "devices/device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_COM1_BASE	   0x3f8
#define BOARD_COM1_GSI	   4
#define BOARD_KBD_GSI	   1
#define BOARD_MOUSE_GSI	   12
#define BOARD_RTC_GSI	   8
#define BOARD_TESTDEV_GSI  5
#define BOARD_PM_TMR_32BIT true /* the FADT and the PM timer device must agree */
/* CMOS shutdown status (IBM PC AT BIOS): 0xfe tells the firmware's POST it resumes from S3 */
#define BOARD_CMOS_SHUTDOWN_STATUS 0x0f
#define BOARD_CMOS_SHUTDOWN_S3	   0xfe

struct board_pc {
	struct vm *vm;
	struct uart *com1;
	struct rtc *rtc;
	struct i8042 *i8042;
	struct acpi_pm *acpi_pm;
	struct pci_host *pci;
	bool s3;		   /* the machine offers ACPI S3 (board_pc_choose_s3) */
	struct piix *piix;	   /* machine pc */
	struct piix4_pm *piix4_pm; /* machine pc */
	struct mch *mch;	   /* machine q35 */
	struct ich9_lpc *lpc;	   /* machine q35 */
	struct board_disks *disks;
	struct board_nics *nics;
	struct board_fw *fw;	       /* boot.firmware: fw_cfg */
	struct board_irqchip *irqchip; /* accelerators without an in-kernel irqchip */
	struct debug_exit *debug_exit;
	struct testdev *testdev;
	struct pc_testdev *pc_testdev;
	struct pci_testdev *pci_testdev; /* debug.pci_testdev: in the last PCI slot taken */
	struct pvpanic *pvpanic;
	struct board_display *display; /* NULL without a display */
	struct board_pv *pv;	       /* the paravirtual devices */
	struct irq_line rtc_irq;       /* IRQ 8 itself; the RTC drives board_pc_rtc_irq */
	int rtc_level;
	struct vcpu_hooks hooks; /* what every vCPU gets (board_pc_vcpu_hooks) */
};

/* Sink behind every ISA interrupt line: pin is the GSI. Device lock held. */
static void board_pc_irq_set(void *sink, unsigned gsi, int level)
{
	struct vm *vm = sink;

	if (vm->accel->has_irqchip) {
		int ret = vm->accel->irq_line(vm->avm, gsi, level);

		if (ret < 0)
			log_guest("%s: cannot set GSI %u to %d: %s", vm->spec->name, gsi, level,
				  strerror(-ret));
	}
}

struct irq_line board_pc_gsi_line(struct vm *vm, unsigned gsi)
{
	struct irq_line line = { .set = board_pc_irq_set, .sink = vm, .pin = gsi };

	if (!vm->accel->has_irqchip && vm->board && vm->board->irqchip)
		return board_irqchip_line(vm->board->irqchip, gsi);
	return line;
}

struct board_irqchip *board_pc_irqchip(struct board_pc *b)
{
	return b->irqchip;
}

struct board_disks *board_pc_disks(struct board_pc *b)
{
	return b->disks;
}

struct board_fw *board_pc_fw(struct board_pc *b)
{
	return b->fw;
}

void board_pc_msi(struct board_pc *b, u64 addr, u32 data)
{
	if (b->irqchip)
		board_irqchip_msi(b->irqchip, addr, data);
}

/* The userspace irqchip drives a vCPU's INTR pin. Device lock held, any thread. */
static void board_pc_cpu_set_intr(void *opaque, unsigned cpu, bool level)
{
	vm_cpu_set_intr(opaque, cpu, level);
}

/* An NMI for a vCPU from its local APIC. Device lock held, any thread. */
static void board_pc_cpu_nmi(void *opaque, unsigned cpu)
{
	vm_cpu_nmi(opaque, cpu);
}

/* INIT or STARTUP for a vCPU from a local APIC. Device lock held. */
static void board_pc_cpu_startup(void *opaque, unsigned cpu, int vector)
{
	vm_cpu_startup(opaque, cpu, vector);
}

/* ---- the per-CPU hooks of the vCPUs (vcpu.h): the userspace local APICs ---- */

static bool board_pc_hook_mmio(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write,
			       void *data)
{
	struct board_pc *b = opaque;

	return board_irqchip_mmio(b->irqchip, cpu, gpa, size, is_write, data);
}

static int board_pc_hook_intr_ack(void *opaque, unsigned cpu)
{
	struct board_pc *b = opaque;

	return board_irqchip_intr_ack(b->irqchip, cpu);
}

static int board_pc_hook_msr(void *opaque, unsigned cpu, u32 index, bool is_write, u64 *val)
{
	struct board_pc *b = opaque;

	return board_irqchip_msr(b->irqchip, cpu, index, is_write, val);
}

static void board_pc_hook_backdoor(void *opaque, unsigned cpu, struct accel_backdoor *regs)
{
	struct board_pc *b = opaque;

	(void)cpu;
	board_pv_backdoor(b->pv, regs);
}

struct board_pv *board_pc_pv(struct board_pc *b)
{
	return b->pv;
}

const struct vcpu_hooks *board_pc_vcpu_hooks(struct board_pc *b)
{
	return &b->hooks;
}

u64 board_pc_low_ram_max(const struct vm_spec *spec)
{
	if (spec->machine != SPEC_MACHINE_Q35)
		return GMEM_PCI_HOLE_START;
	return (spec->memory_mib << 20) > MCH_ECAM_DEFAULT_BASE ? 0x80000000ull :
								  MCH_ECAM_DEFAULT_BASE;
}

/* The line factory handed to board_disks and board_nics: INTA of a PCI slot. Main thread. */
static struct irq_line board_pc_intx_line(void *opaque, unsigned slot, unsigned *gsi)
{
	struct board_pc *b = opaque;

	*gsi = BOARD_PC_PCI_INTA_GSI(slot);
	return board_pc_gsi_line(b->vm, *gsi);
}

void board_pc_reset(struct board_pc *b)
{
	platform_state_reset(&b->vm->plat);
	if (b->irqchip)
		board_irqchip_reset(b->irqchip);
}

void board_pc_power_button(struct board_pc *b)
{
	pthread_mutex_lock(&b->vm->plat.dev_lock);
	acpi_pm_power_button(b->acpi_pm);
	platform_request(&b->vm->plat, PLATFORM_REQ_WAKE, 0); /* ignored unless in S3 */
	pthread_mutex_unlock(&b->vm->plat.dev_lock);
}

void board_pc_s3_suspend(struct board_pc *b)
{
	if (b->vm->spec->boot.kind == BOOT_FIRMWARE)
		(void)rtc_set_cmos(b->rtc, BOARD_CMOS_SHUTDOWN_STATUS, BOARD_CMOS_SHUTDOWN_S3);
}

bool board_pc_wake_event(struct board_pc *b)
{
	return acpi_pm_wake_event(b->acpi_pm);
}

void board_pc_s3_resume(struct board_pc *b)
{
	struct platform *p = &b->vm->plat;

	for (unsigned i = 0; i < p->nr_devs; i++)
		if (p->devs[i].ops->reset && p->devs[i].dev != b->rtc &&
		    p->devs[i].dev != b->acpi_pm)
			p->devs[i].ops->reset(p->devs[i].dev);
	if (b->irqchip)
		board_irqchip_reset(b->irqchip);
	acpi_pm_woke(b->acpi_pm);
}

/*
 * The RTC's interrupt: IRQ 8, and RTC_STS in the ACPI block on each assertion (an alarm), which
 * wakes the machine from S3 when the OS enabled RTC_EN. Device lock held.
 */
static void board_pc_rtc_irq(void *sink, unsigned pin, int level)
{
	struct board_pc *b = sink;
	bool rising = level && !b->rtc_level;

	(void)pin;
	b->rtc_level = level;
	irq_line_set(&b->rtc_irq, level);
	if (!rising || !b->acpi_pm)
		return;
	acpi_pm_rtc_event(b->acpi_pm);
	if (acpi_pm_wake_event(b->acpi_pm))
		platform_request(&b->vm->plat, PLATFORM_REQ_WAKE, 0); /* ignored unless in S3 */
}

/* COM1's transmitter: hand everything to the console (it never blocks the guest). */
static size_t board_pc_com1_write(void *opaque, const u8 *buf, size_t len)
{
	struct vm *vm = opaque;

	console_write(vm->console, buf, len);
	return len;
}

/* COM1's RX FIFO has room again: wake the main loop to push pending console input. */
static void board_pc_com1_rx_ready(void *opaque)
{
	vm_wake(opaque);
}

size_t board_pc_console_input(void *opaque, const u8 *buf, size_t len)
{
	struct vm *vm = opaque;
	size_t n;

	pthread_mutex_lock(&vm->plat.dev_lock);
	n = uart_receive(vm->board->com1, buf, len);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	return n;
}

/* Put a device the board just created on the platform's device list. */
static int board_pc_register(struct board_pc *b, const struct device_ops *ops, void *dev,
			     const char *name, struct err *err)
{
	int ret = platform_add_dev(&b->vm->plat, ops, dev, name);

	return ret < 0 ? err_set(err, ret, "%s: cannot register the device: %s", name,
				 strerror(-ret)) :
			 0;
}

static int board_pc_create_debug(struct board_pc *b, struct err *err)
{
	struct vm *vm = b->vm;
	const struct debug_spec *dbg = &vm->spec->debug;
	int ret;

	if (dbg->has_exit_port) {
		struct debug_exit_config cfg = {
			.name = "debug-exit",
			.port = dbg->exit_port,
			.qemu_style = dbg->exit_code_style == SPEC_EXIT_CODE_QEMU,
		};

		ret = debug_exit_create(&vm->plat, &cfg, (struct irq_line){ 0 }, &b->debug_exit,
					err);
		if (ret < 0)
			return ret;
		ret = board_pc_register(b, &debug_exit_device_ops, b->debug_exit, cfg.name, err);
		if (ret < 0)
			return ret;
	}
	if (dbg->test_device) {
		struct testdev_config cfg = { .name = "testdev",
					      .pio_base = TESTDEV_DEFAULT_PIO_BASE,
					      .mmio_gpa = TESTDEV_DEFAULT_MMIO_GPA };

		ret = testdev_create(&vm->plat, &cfg, board_pc_gsi_line(vm, BOARD_TESTDEV_GSI),
				     &b->testdev, err);
		if (ret < 0)
			return ret;
		ret = board_pc_register(b, &testdev_device_ops, b->testdev, cfg.name, err);
		if (ret < 0)
			return ret;
	}
	if (dbg->pc_testdev) {
		struct pc_testdev_config cfg = { .name = "pc-testdev" };
		struct irq_line irqs[PC_TESTDEV_NR_IRQS];

		for (unsigned n = 0; n < PC_TESTDEV_NR_IRQS; n++)
			irqs[n] = board_pc_gsi_line(vm, n);
		ret = pc_testdev_create(&vm->plat, &cfg, irqs, &b->pc_testdev, err);
		if (ret < 0)
			return ret;
		ret = board_pc_register(b, &pc_testdev_device_ops, b->pc_testdev, cfg.name, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The VGA card in the first PCI slot the disks, paravirtual devices and NICs left free. */
static int board_pc_create_display(struct board_pc *b, struct err *err)
{
	struct vm *vm = b->vm;
	unsigned slot = 2;

	if (vm->spec->display.type != DISPLAY_NONE) {
		while (slot < 32 && pci_host_find(b->pci, slot, 0))
			slot++;
		if (slot == 32)
			return err_set(err, -ENOSPC, "display: no PCI slot left for the VGA card");
		return board_display_create(vm, b->pci, slot, b->i8042, &b->display, err);
	}
	return 0;
}

/* The PCI test device's writes through the accelerator's ioeventfds (KVM). Device lock held. */
static int board_pc_pci_testdev_ioeventfd(void *opaque, u64 addr, unsigned len, bool is_pio,
					  bool match, u64 data, int fd, bool assign)
{
	struct vm *vm = opaque;

	if (match)
		return vm->accel->ioeventfd_match(vm->avm, addr, len, is_pio, data, fd, assign);
	return vm->accel->ioeventfd(vm->avm, addr, len, is_pio, fd, assign);
}

/*
 * debug.pci_testdev: QEMU's PCI test device in the first slot left free after every other PCI
 * function (so it moves none of them); without firmware its BARs get their addresses here.
 */
static int board_pc_create_pci_testdev(struct board_pc *b, struct err *err)
{
	struct vm *vm = b->vm;
	struct pci_testdev_config cfg = { .name = "pci-testdev",
					  .assign_bars = vm->spec->boot.kind != BOOT_FIRMWARE };
	unsigned slot = 2;
	int ret;

	if (!vm->spec->debug.pci_testdev)
		return 0;
	if (vm->accel->ioeventfd && vm->accel->ioeventfd_match)
		cfg.accel = (struct pci_testdev_accel){ .ioeventfd = board_pc_pci_testdev_ioeventfd,
							.opaque = vm };
	while (slot < 32 && pci_host_find(b->pci, slot, 0))
		slot++;
	if (slot == 32)
		return err_set(err, -ENOSPC, "%s: no PCI slot left", cfg.name);
	ret = pci_testdev_create(&vm->plat, &cfg, &b->pci_testdev, err);
	if (ret < 0)
		return ret;
	ret = pci_host_add(b->pci, pci_testdev_pci(b->pci_testdev), slot, 0, err);
	if (ret < 0) {
		pci_testdev_destroy(b->pci_testdev);
		b->pci_testdev = NULL;
		return ret;
	}
	pthread_mutex_lock(&vm->plat.dev_lock);
	pci_testdev_assign_bars(b->pci_testdev);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	return board_pc_register(b, &pci_testdev_device_ops, b->pci_testdev, cfg.name, err);
}

struct board_display *board_pc_display(struct board_pc *b)
{
	return b ? b->display : NULL;
}

/*
 * The chipset's functions: PIIX (pc: the i440FX, the PIIX3 ISA bridge and the PIIX4 PM function)
 * or the Q35 MCH and ICH9 LPC. The PM function and the LPC bridge tell firmware where the ACPI
 * PM block is.
 */
static int board_pc_create_chipset(struct board_pc *b, struct err *err)
{
	struct vm *vm = b->vm;
	struct ich9_lpc_config lpc = { .name = "ich9-lpc",
				       .host = b->pci,
				       .pm_base = ACPI_PM_BASE };
	struct piix4_pm_config pm = { .name = "piix4-pm", .host = b->pci, .pm_base = ACPI_PM_BASE };
	int ret;

	if (vm->spec->machine != SPEC_MACHINE_Q35) {
		ret = piix_create(b->pci, &b->piix, err);
		if (!ret)
			ret = board_pc_register(b, &piix_device_ops, b->piix, "piix", err);
		if (!ret)
			ret = piix4_pm_create(&pm, &b->piix4_pm, err);
		if (!ret)
			ret = board_pc_register(b, &piix4_pm_device_ops, b->piix4_pm, pm.name, err);
		return ret;
	}
	ret = mch_create(&vm->plat, b->pci, &b->mch, err);
	if (!ret)
		ret = board_pc_register(b, &mch_device_ops, b->mch, "mch", err);
	if (!ret)
		ret = ich9_lpc_create(&vm->plat, &lpc, &b->lpc, err);
	if (!ret)
		ret = board_pc_register(b, &ich9_lpc_device_ops, b->lpc, lpc.name, err);
	return ret;
}

void board_pc_prepare_direct_boot(struct board_pc *b)
{
	if (!b->mch)
		return;
	pthread_mutex_lock(&b->vm->plat.dev_lock);
	mch_enable_ecam(b->mch, MCH_ECAM_DEFAULT_BASE);
	pthread_mutex_unlock(&b->vm->plat.dev_lock);
}

/*
 * Whether the machine offers S3 (\_S3 in the DSDT, the sleep type in the ACPI block). Without
 * firmware the VMM resumes the OS itself at the FACS's waking vector; with a legacy BIOS
 * (SeaBIOS) the firmware does, from its reset vector with RAM kept (vm_leave_s3). UEFI
 * firmware (an image that starts with a firmware volume: OVMF) is not offered S3: OVMF
 * resumes only with its S3 support on and without SMM, which does not work here
 * (docs/firmware.md), and an OS that suspended would not come back.
 */
static int board_pc_choose_s3(struct board_pc *b, struct err *err)
{
	const struct boot_spec *boot = &b->vm->spec->boot;
	bool uefi = false;
	int ret = 0;

	if (boot->kind == BOOT_FIRMWARE)
		ret = boot_firmware_uefi(boot->image, &uefi, err);
	b->s3 = !uefi;
	return ret;
}

/* The ACPI description of this board, for direct boots and for firmware alike. */
static void board_pc_acpi_config(const struct board_pc *b, struct acpi_config *cfg)
{
	*cfg = (struct acpi_config){
		.nr_vcpus = b->vm->nr_vcpus,
		.s5_slp_typ = ACPI_PM_SLP_TYP_S5,
		.s3 = b->s3,
		.s3_slp_typ = ACPI_PM_SLP_TYP_S3,
		.com1 = true,
		.pvpanic_port = PVPANIC_DEFAULT_PORT,
		.pm_tmr_32bit = BOARD_PM_TMR_32BIT,
		.pci_host = true,
		/* PCI INTx on IOAPIC-only pins, clear of every ISA IRQ */
		.pci_intx_gsi = { BOARD_PC_PCI_GSI_BASE, BOARD_PC_PCI_GSI_BASE + 1,
				  BOARD_PC_PCI_GSI_BASE + 2, BOARD_PC_PCI_GSI_BASE + 3 }
	};
	/* The userspace irqchip brings an HPET (board_irqchip.c); KVM's has none. */
	if (b->irqchip) {
		cfg->hpet_gpa = HPET_DEFAULT_BASE;
		cfg->hpet_id =
			(u32)(HPET_CAP_VENDOR_INTEL << 16 | HPET_CAP_LEG_RT | HPET_CAP_COUNT_SIZE |
			      (HPET_NR_TIMERS - 1) << HPET_CAP_NUM_TIM_SHIFT | HPET_CAP_REV);
	}
	if (b->mch) {
		cfg->pcie = true;
		cfg->mcfg_gpa = MCH_ECAM_DEFAULT_BASE;
		cfg->mcfg_last_bus = (u8)((MCH_ECAM_SIZE >> 20) - 1);
		/* above the ECAM window, where SeaBIOS and OVMF put the 32-bit BARs */
		cfg->pci_mmio_start = (u32)(MCH_ECAM_DEFAULT_BASE + MCH_ECAM_SIZE);
		cfg->pci_mmio_end = ACPI_PCI_MMIO_END;
	}
}

int board_pc_build_acpi(struct board_pc *b, u64 *rsdp_gpa, struct err *err)
{
	struct acpi_config cfg;

	board_pc_acpi_config(b, &cfg);
	return acpi_build(&b->vm->plat.mem, &cfg, rsdp_gpa, err);
}

/* boot.firmware (or debug.fw_cfg without firmware, as QEMU always has it): fw_cfg with the
 * board's tables. */
static int board_pc_create_fw(struct board_pc *b, struct err *err)
{
	struct acpi_config acpi;
	struct board_fw_config cfg = { .acpi = &acpi,
				       .disks = b->disks,
				       .product = b->mch ? "vmm-q35" : "vmm-pc" };

	if (b->vm->spec->boot.kind != BOOT_FIRMWARE && !b->vm->spec->debug.fw_cfg)
		return 0;
	board_pc_acpi_config(b, &acpi);
	return board_fw_create(b->vm, &cfg, &b->fw, err);
}

int board_pc_create(struct vm *vm, struct board_pc **out, struct err *err)
{
	struct board_pc *b = calloc(1, sizeof(*b));
	struct uart_config com1 = { .name = "uart0",
				    .base = BOARD_COM1_BASE,
				    .write = board_pc_com1_write,
				    .rx_ready = board_pc_com1_rx_ready,
				    .opaque = vm };
	struct rtc_config rtc = { .name = "rtc0", .base = 0x70 };
	struct i8042_config kbd = { .name = "i8042" };
	struct acpi_pm_config pm = { .name = "acpi-pm", .tmr_32bit = BOARD_PM_TMR_32BIT };
	struct pci_host_config pci = { .name = "pci0" };
	struct board_pci_lines lines = { .intx = board_pc_intx_line, .opaque = b };
	struct pvpanic_config pvp = { .name = "pvpanic", .port = PVPANIC_DEFAULT_PORT };
	int ret;

	if (!b)
		return err_set(err, -ENOMEM, "board: out of memory");
	b->vm = vm;
	vm->board = b;
	ret = board_pc_choose_s3(b, err);
	if (ret < 0)
		goto err_destroy;
	pm.s3 = b->s3;
	if (!vm->accel->has_irqchip) {
		struct board_irqchip_config ic = { .nr_cpus = vm->nr_vcpus,
						   .ioapic_id = (u8)vm->nr_vcpus, /* as the MADT */
						   .x2apic = cpu_model_has(&vm->cpu, CPU_F_X2APIC),
						   .pic_bios_state =
							   vm->spec->boot.kind != BOOT_FIRMWARE,
						   .set_intr = board_pc_cpu_set_intr,
						   .nmi = board_pc_cpu_nmi,
						   .startup = board_pc_cpu_startup,
						   .opaque = vm };

		ret = board_irqchip_create(&vm->plat, &ic, &b->irqchip, err);
		if (ret < 0)
			goto err_destroy;
		b->hooks = (struct vcpu_hooks){ .opaque = b,
						.mmio = board_pc_hook_mmio,
						.intr_ack = board_pc_hook_intr_ack,
						.msr = board_pc_hook_msr,
						.startup = true };
	}
	ret = uart_create(&vm->plat, &com1, board_pc_gsi_line(vm, BOARD_COM1_GSI), &b->com1, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_register(b, &uart_device_ops, b->com1, com1.name, err);
	if (ret < 0)
		goto err_destroy;
	b->rtc_irq = board_pc_gsi_line(vm, BOARD_RTC_GSI);
	ret = rtc_create(
		&vm->plat, &rtc,
		(struct irq_line){ .set = board_pc_rtc_irq, .sink = b, .pin = BOARD_RTC_GSI },
		&b->rtc, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_register(b, &rtc_device_ops, b->rtc, rtc.name, err);
	if (ret < 0)
		goto err_destroy;
	/* RAM below the PCI hole and above 4 GiB, as the spec gives it (a VGA hole aside) */
	rtc_set_pc_memory(b->rtc, MIN(vm_memory_bytes(vm), GMEM_PCI_HOLE_START),
			  vm_memory_bytes(vm) - MIN(vm_memory_bytes(vm), GMEM_PCI_HOLE_START),
			  vm->nr_vcpus);
	ret = i8042_create(&vm->plat, &kbd, board_pc_gsi_line(vm, BOARD_KBD_GSI),
			   board_pc_gsi_line(vm, BOARD_MOUSE_GSI), &b->i8042, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_register(b, &i8042_device_ops, b->i8042, kbd.name, err);
	if (ret < 0)
		goto err_destroy;
	ret = acpi_pm_create(&vm->plat, &pm, board_pc_gsi_line(vm, ACPI_SCI_IRQ), &b->acpi_pm, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_register(b, &acpi_pm_device_ops, b->acpi_pm, pm.name, err);
	if (ret < 0)
		goto err_destroy;
	ret = pvpanic_create(&vm->plat, &pvp, &b->pvpanic, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_register(b, &pvpanic_device_ops, b->pvpanic, pvp.name, err);
	if (ret < 0)
		goto err_destroy;
	ret = pci_host_create(&vm->plat, &pci, &b->pci, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_register(b, &pci_host_device_ops, b->pci, pci.name, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_create_chipset(b, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_disks_create(vm, b->pci, &lines,
				 /* on q35, ICH9's SATA controller */
				 &(struct board_disks_ahci){ .dev = b->lpc ? ICH9_LPC_DEV : 0,
							     .fn = b->lpc ? 2 : 0 },
				 &b->disks, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_create_debug(b, err);
	if (ret < 0)
		goto err_destroy;
	/*
	 * The paravirtual devices take the slots after the disks, the NICs the ones after them, the
	 * VGA card the next free: a spec without NICs keeps the layout it had before NICs existed.
	 */
	ret = board_pv_create(vm, b->pci, board_disks_next_slot(b->disks), &b->pv, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_nics_create(vm, b->pci, &lines, board_pv_next_slot(b->pv), &b->nics, err);
	if (ret < 0)
		goto err_destroy;
	if (board_pv_vmport(b->pv)) {
		b->hooks.opaque = b;
		b->hooks.backdoor = board_pc_hook_backdoor;
	}
	ret = board_pc_create_display(b, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_create_pci_testdev(b, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_create_fw(b, err);
	if (ret < 0)
		goto err_destroy;
	*out = b;
	return 0;

err_destroy:
	board_pc_destroy(b);
	vm->board = NULL;
	return ret;
}

int board_pc_attach(struct board_pc *b, struct loop *l)
{
	int ret = board_disks_attach(b->disks, l);

	if (!ret)
		ret = board_pv_attach(b->pv, l);
	if (!ret) {
		ret = board_nics_attach(b->nics, l);
		if (ret < 0)
			board_pv_detach(b->pv);
	}
	if (!ret) {
		ret = board_display_attach(b->display, l);
		if (ret < 0) {
			board_nics_detach(b->nics);
			board_pv_detach(b->pv);
		}
	}
	if (ret < 0)
		board_disks_detach(b->disks);
	return ret;
}

void board_pc_detach(struct board_pc *b)
{
	board_display_detach(b->display);
	board_nics_detach(b->nics);
	board_pv_detach(b->pv);
	board_disks_detach(b->disks);
}

int board_pc_set_link(struct board_pc *b, const char *id, bool up, struct err *err)
{
	return board_nics_set_link(b->nics, id, up, err);
}

int board_pc_add_nic(struct board_pc *b, const struct nic_spec *ns, unsigned index, int tap_fd,
		     struct err *err)
{
	return board_nics_add(b->nics, ns, index, tap_fd, err);
}

void board_pc_destroy(struct board_pc *b)
{
	if (!b)
		return;
	board_pv_destroy(b->pv);
	board_fw_destroy(b->fw);
	board_display_destroy(b->display);
	platform_del_dev(&b->vm->plat, b->pci_testdev);
	platform_del_dev(&b->vm->plat, b->pc_testdev);
	platform_del_dev(&b->vm->plat, b->testdev);
	platform_del_dev(&b->vm->plat, b->debug_exit);
	platform_del_dev(&b->vm->plat, b->piix4_pm);
	platform_del_dev(&b->vm->plat, b->piix);
	platform_del_dev(&b->vm->plat, b->lpc);
	platform_del_dev(&b->vm->plat, b->mch);
	platform_del_dev(&b->vm->plat, b->pci);
	platform_del_dev(&b->vm->plat, b->pvpanic);
	platform_del_dev(&b->vm->plat, b->acpi_pm);
	platform_del_dev(&b->vm->plat, b->i8042);
	platform_del_dev(&b->vm->plat, b->rtc);
	platform_del_dev(&b->vm->plat, b->com1);
	if (b->pci_testdev)
		pci_host_remove(b->pci, pci_testdev_pci(b->pci_testdev));
	pci_testdev_destroy(b->pci_testdev);
	pc_testdev_destroy(b->pc_testdev);
	if (b->testdev)
		testdev_destroy(b->testdev);
	if (b->debug_exit)
		debug_exit_destroy(b->debug_exit);
	board_nics_destroy(b->nics);
	board_disks_destroy(b->disks);
	piix4_pm_destroy(b->piix4_pm);
	if (b->piix)
		piix_destroy(b->piix);
	ich9_lpc_destroy(b->lpc);
	mch_destroy(b->mch);
	if (b->pci)
		pci_host_destroy(b->pci);
	pvpanic_destroy(b->pvpanic);
	if (b->acpi_pm)
		acpi_pm_destroy(b->acpi_pm);
	if (b->i8042)
		i8042_destroy(b->i8042);
	if (b->rtc)
		rtc_destroy(b->rtc);
	if (b->com1)
		uart_destroy(b->com1);
	board_irqchip_destroy(b->irqchip);
	free(b);
}
