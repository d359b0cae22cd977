#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Firmware boots under accel bt: Debian's SeaBIOS (and OVMF) boot installed media built by
build_images.sh from Debian's packages, with Debian's cloud kernel and the default guest's
initramfs (scripts/build-guest.sh) on them; the guest's init prints its marker and powers off.

usage: firmware.py VMM BUILD_IMAGES_SH DEFAULT_GUEST_DIR CASE

  seabios-ahci    SeaBIOS -> MBR -> SYSLINUX -> kernel -> marker, from a disk on the AHCI
                  controller; SeaBIOS's banner and SYSLINUX's lines reach the serial line
                  through SeaBIOS's serial console (etc/sercon-port); ACPI power-off, exit 0
  seabios-virtio  the same from a virtio-blk disk
  seabios-cdrom   the same through ISOLINUX from an El Torito CD-ROM (AHCI ATAPI)
  seabios-order   two bootable disks (virtio and AHCI): the one with the lower boot_index
                  boots, whichever bus it is on and whichever comes first in the spec
  seabios-reboot  vm.reboot through the control API: SeaBIOS runs its POST again (its banner
                  twice) and boots the disk again to the marker; the firmware log
                  (debug.firmware_log) holds SeaBIOS's debug output of both boots
  seabios-q35     machine q35: SeaBIOS finds the Q35 chipset and its ECAM window, boots the
                  disk on the ICH9 AHCI controller at 00:1f.2 to the marker
  seabios-kernel  boot.kernel with boot.firmware: SeaBIOS runs the VMM's option ROM, which
                  loads the bzImage, initramfs and command line from fw_cfg's kernel items and
                  enters the kernel; the marker, the command line in the kernel's log, ACPI
                  power-off; on pc and q35
  ovmf-kernel     Debian's OVMF (OVMF_CODE_4M.fd with a per-VM copy of OVMF_VARS_4M.fd in
                  boot.firmware_vars) on q35 and on pc boots boot.kernel through fw_cfg: the
                  kernel's EFI stub loads the initrd OVMF serves, Linux runs on EFI with the
                  VMM's ACPI tables (OEM VMMVMM, installed by OVMF from etc/table-loader) to
                  the marker, ACPI power-off; OVMF wrote its variable store through to the
                  file. On pc OVMF finds the ACPI PM timer through the PIIX4 PM function
                  (00:01.3), which Linux also sees, naming the PM block at 0x600
  ovmf-vars       a variable the guest writes through efivarfs survives a restart of the VMM
                  with the same variables file (the bytes are in the file after the first
                  run); a fresh copy of OVMF_VARS_4M.fd does not have it; the VMM offers no
                  S3 under UEFI firmware (Linux's mem_sleep has no deep)
  ovmf-esp        OVMF boots an EFI boot loader from a GPT disk: systemd-boot as
                  \\EFI\\BOOT\\BOOTX64.EFI on the EFI system partition of a disk on the
                  ICH9 AHCI controller loads the kernel and initrd from the ESP with its
                  entry's command line, to the marker
  ovmf-esp-virtio the same from a virtio-blk disk (OVMF's driver accepts no SIZE_MAX and reads
                  the kernel in one 14 MiB segment: docs/security.md, virtio-blk)
  linux-q35       the kernel booted directly (no firmware) on both machines, 2 vCPUs: on pc Linux
                  finds the HPET in the ACPI tables and no MCFG, and the PIIX4 PM function
                  naming the PM block where the FADT has it; on q35 it also finds the MCFG
                  table and uses the ECAM window, and the PCI functions of the Q35 chipset; on
                  both the MTRRs are as firmware leaves them (PAT set up with WC, no complaint)

Skips (77) when the guest, the firmware (seabios, ovmf) or an image tool is missing. Every vmm started is
killed when a case fails or times out. Timeout per boot: $VMM_FIRMWARE_TIMEOUT (default 300 s).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from api_client import Api, wait_socket  # noqa: E402
from guest_shell import CSI, GuestError, LinuxGuest  # noqa: E402
from harness import VM, fail, skip  # noqa: E402

vmm, build_images, default_guest, case = sys.argv[1:5]
TIMEOUT = float(os.environ.get("VMM_FIRMWARE_TIMEOUT", "300"))
MARKER = "VMM-GUEST-READY"
SEABIOS = "/usr/share/seabios/bios.bin"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
BANNER = "SeaBIOS (version"

guest = os.path.abspath(os.environ.get("VMM_GUEST_DIR") or default_guest)
kernel = os.path.join(guest, "vmlinuz-cloud")
initrd = os.path.join(guest, "initramfs.cpio.gz")
for f in (kernel, initrd):
    if not os.path.exists(f):
        skip(f"{f} is missing: the default guest is not built (scripts/build-guest.sh)")
if not case.startswith("ovmf") and not os.path.exists(SEABIOS):
    skip(f"{SEABIOS} is missing (scripts/deps.sh test installs seabios)")
if case.startswith("ovmf"):
    for f in (OVMF_CODE, OVMF_VARS):
        if not os.path.exists(f):
            skip(f"{f} is missing (scripts/deps.sh test installs ovmf)")

work = tempfile.mkdtemp(prefix="vmm-firmware-")
vms = []
guests = []


class FirmwareVM(VM):
    """SeaBIOS's serial console moves the cursor (ESC [ row ; col H) in the middle of what it
    prints ("vmm-syslinux: q\x1b[05;15H\x1b[05;16H35"), and sometimes with a bare carriage
    return ("v\rmm-syslinux: virtio"): the text without the controls and carriage returns."""

    def serial_text(self):
        return CSI.sub("", super().serial_text()).replace("\r", "")


def images(*items):
    """Build the boot media named by items (build_images.sh ITEM syntax) into work."""
    p = subprocess.run(["sh", build_images, kernel, initrd, work, *items],
                       capture_output=True, text=True)
    if p.returncode == 77:
        skip(p.stdout.strip())
    if p.returncode != 0:
        fail(f"build_images.sh {' '.join(items)}: status {p.returncode}\n{p.stdout}{p.stderr}")


def image(name):
    return os.path.join(work, name)


def start(disks, firmware=SEABIOS, boot=None, **extra):
    spec = {"name": "fw-test", "vcpus": 1, "memory_mib": 256, "accel": "bt",
            "boot": boot or {"firmware": firmware}, "disks": disks}
    spec.update(extra)
    vm = FirmwareVM(vmm, spec)
    vms.append(vm)
    return vm


def wait(vm, marker, count=1):
    vm.wait_serial(marker, timeout=TIMEOUT, count=count)


def check_before(vm, first, then):
    """first appears on the serial line, and before then."""
    text = vm.serial_text()
    a, b = text.find(first), text.find(then)
    if a < 0 or b < 0 or a > b:
        vm.kill()
        fail(f"{first!r} (at {a}) should come before {then!r} (at {b}) on the serial line:\n"
             f"{text[:2000]!r}\n...\n{text[-2000:]!r}")


def boot_to_marker(disk, boot_line, name):
    vm = start([disk])
    wait(vm, MARKER)
    check_before(vm, BANNER, boot_line)
    check_before(vm, boot_line, "Linux version")
    check_before(vm, f"vmm.boot={name}", MARKER)
    vm.expect_exit(0, stderr_has="the guest powered off", timeout=TIMEOUT)
    print(f"ok: SeaBIOS -> {boot_line} -> Linux -> {MARKER}, powered off")


def case_seabios_ahci():
    images("hd:ahci")
    boot_to_marker({"path": image("hd-ahci.img"), "format": "raw", "bus": "ahci"},
                   "vmm-syslinux: ahci", "ahci")


def case_seabios_virtio():
    images("hd:virtio")
    boot_to_marker({"path": image("hd-virtio.img"), "format": "raw", "bus": "virtio"},
                   "vmm-syslinux: virtio", "virtio")


def case_seabios_cdrom():
    images("cd")
    boot_to_marker({"path": image("cd.iso"), "format": "raw", "cdrom": True},
                   "vmm-isolinux: cd", "cd")


def case_seabios_order():
    images("hd:one", "hd:two")
    for want, idx in (("one", (0, 1)), ("two", (1, 0)), ("two", (5, 2))):
        disks = [{"path": image("hd-one.img"), "format": "raw", "bus": "virtio",
                  "boot_index": idx[0]},
                 {"path": image("hd-two.img"), "format": "raw", "bus": "ahci",
                  "boot_index": idx[1]}]
        vm = start(disks)
        wait(vm, "vmm-syslinux: ")
        wait(vm, "Loading vmlinuz")
        other = "two" if want == "one" else "one"
        text = vm.serial_text()
        if f"vmm-syslinux: {want}" not in text or f"vmm-syslinux: {other}" in text:
            vm.kill()
            fail(f"boot_index {idx}: expected to boot {want}\n{text[-2000:]!r}")
        vm.kill()
        print(f"ok: boot_index one={idx[0]} two={idx[1]} boots {want}")


def case_seabios_reboot():
    images("hd-shell:again")
    sock = os.path.join(work, "api.sock")
    log = os.path.join(work, "firmware.log")
    vm = start([{"path": image("hd-again.img"), "format": "raw", "bus": "ahci"}],
               control={"path": sock}, debug={"firmware_log": log})
    wait_socket(sock, vm.proc)
    wait(vm, MARKER)
    r = Api(sock).call("PUT", "vm.reboot")
    if r.status != 204:
        vm.kill()
        fail(f"vm.reboot: {r}")
    wait(vm, BANNER, count=2)
    wait(vm, "vmm-syslinux: again", count=2)
    wait(vm, MARKER, count=2)
    vm.signal(15)
    vm.expect_exit(128 + 15, timeout=60)
    with open(log, errors="replace") as f:
        text = f.read()
    for want in ("Found QEMU fw_cfg", "QEMU fw_cfg DMA interface supported",
                 "AHCI controller at"):
        if text.count(want) != 2:
            fail(f"the firmware log holds {text.count(want)} x {want!r}, expected 2:\n"
                 f"{text[-3000:]}")
    print("ok: after vm.reboot SeaBIOS ran its POST again and booted the disk again; the "
          "firmware log has both boots")


def case_seabios_q35():
    images("hd:q35")
    log = os.path.join(work, "firmware.log")
    vm = start([{"path": image("hd-q35.img"), "format": "raw", "bus": "ahci"}],
               machine="q35", debug={"firmware_log": log})
    wait(vm, MARKER)
    check_before(vm, "vmm-syslinux: q35", "Linux version")
    vm.expect_exit(0, stderr_has="the guest powered off", timeout=TIMEOUT)
    with open(log, errors="replace") as f:
        text = f.read()
    for want in ("Running on QEMU (q35)", "PCIe: using q35 mmconfig at 0xb0000000",
                 "AHCI controller at 00:1f.2", "/pci@i0cf8/*@1f,2/drive@0/disk@0"):
        if want not in text:
            fail(f"the firmware log lacks {want!r}:\n{text[-3000:]}")
    print("ok: SeaBIOS on q35 booted the disk on the ICH9 AHCI controller at 00:1f.2")


def case_seabios_kernel():
    cmdline = "console=ttyS0 panic=-1 no_timer_check vmm.poweroff vmm.fwkernel=yes"
    boot = {"firmware": SEABIOS, "kernel": kernel, "initrd": initrd, "cmdline": cmdline}
    for machine in ("pc", "q35"):
        vm = start([], boot=boot, machine=machine)
        wait(vm, MARKER)
        check_before(vm, BANNER, "Booting from ROM")
        check_before(vm, "Booting from ROM", "Linux version")
        check_before(vm, "Command line: " + cmdline, MARKER)
        check_before(vm, "Trying to unpack rootfs image as initramfs", MARKER)
        vm.expect_exit(0, stderr_has="the guest powered off", timeout=TIMEOUT)
        print(f"ok: machine {machine}: SeaBIOS -> option ROM -> Linux (fw_cfg) -> {MARKER}")


def case_linux_q35():
    boot = {"kernel": kernel, "initrd": initrd,
            "cmdline": "console=ttyS0 panic=-1 no_timer_check vmm.poweroff"}
    want = {
        "pc": ["ACPI: HPET 0x", "hpet0: at MMIO 0xfed00000", "clocksource: hpet",
               "pci 0000:00:01.3: [8086:7113]",
               "pci 0000:00:01.3: quirk: [io  0x0600-0x063f] claimed by PIIX4 ACPI"],
        "q35": ["ACPI: HPET 0x", "hpet0: at MMIO 0xfed00000", "ACPI: MCFG 0x",
                "PCI: MMCONFIG for domain 0000 [bus 00-ff] at [mem 0xb0000000-0xbfffffff]",
                "PCI: MMCONFIG at [mem 0xb0000000-0xbfffffff] reserved",
                "[8086:29c0]", "[8086:2918]", "PNP0A08:00"],
    }
    refused = {"pc": ["ACPI: MCFG", "[8086:29c0]"],
               "q35": ["[8086:1237]", "[8086:7113]", "not reserved"]}
    # MTRRs as firmware leaves them (vm.c), the same on both vCPUs: Linux sets up PAT with
    # write-combining (with MTRRs disabled it skips PAT: "MTRRs disabled, skipping PAT")
    for m in want:
        want[m].append("x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT")
        refused[m] += ["MTRRs disabled", "MTRRs all blank", "inconsistent"]
    for machine in ("pc", "q35"):
        vm = start([], boot=boot, machine=machine, vcpus=2)
        wait(vm, MARKER)
        vm.expect_exit(0, stderr_has="the guest powered off", timeout=TIMEOUT)
        text = vm.serial_text()
        for w in want[machine]:
            if w not in text:
                fail(f"machine {machine}: the kernel log lacks {w!r}:\n{text[-6000:]}")
        for w in refused[machine]:
            if w in text:
                fail(f"machine {machine}: the kernel log has {w!r}:\n{text[-6000:]}")
        print(f"ok: machine {machine}: " + "; ".join(want[machine]))


def ovmf_vars_copy(name):
    """A per-VM copy of OVMF's variable store template."""
    path = image(name)
    shutil.copyfile(OVMF_VARS, path)
    return path


def case_ovmf_kernel():
    cmdline = "console=ttyS0 panic=-1 no_timer_check vmm.poweroff vmm.ovmf=yes"
    for machine in ("q35", "pc"):
        vars_path = ovmf_vars_copy(f"ovmf-vars-{machine}.fd")
        boot = {"firmware": OVMF_CODE, "firmware_vars": vars_path, "kernel": kernel,
                "initrd": initrd, "cmdline": cmdline}
        vm = start([], boot=boot, machine=machine)
        wait(vm, MARKER)
        check_before(vm, "EFI stub: Loaded initrd", "Linux version")
        check_before(vm, "efi: EFI v", MARKER)
        check_before(vm, "Command line: " + cmdline, MARKER)
        for table in ("FACP", "APIC", "HPET") + (("MCFG",) if machine == "q35" else ()):
            check_before(vm, f"ACPI: {table} ", MARKER)
        if machine == "pc":
            # the PIIX4 PM function names the PM block where the FADT has it
            check_before(vm, "pci 0000:00:01.3: [8086:7113]", MARKER)
            check_before(vm, "[io  0x0600-0x063f] claimed by PIIX4 ACPI", MARKER)
        text = vm.serial_text()
        if "ACPI: FACP" not in text or "VMMVMM" not in text[text.find("ACPI: FACP"):][:120]:
            vm.kill()
            fail(f"machine {machine}: the FADT is not the VMM's (OEM VMMVMM):\n{text[:6000]}")
        vm.expect_exit(0, stderr_has="the guest powered off", timeout=TIMEOUT)
        err = vm.stderr_text()
        if "of firmware variables at 0xffc00000-0xffc83fff" not in err:
            fail(f"machine {machine}: no variable store below the code in vmm's log:\n"
                 f"{err[-3000:]}")
        with open(OVMF_VARS, "rb") as a, open(vars_path, "rb") as b:
            if a.read() == b.read():
                fail(f"machine {machine}: OVMF wrote nothing to its variable store {vars_path}")
        print(f"ok: machine {machine}: OVMF -> EFI stub (fw_cfg kernel and initrd) -> Linux on "
              f"EFI with the VMM's ACPI tables -> {MARKER}; OVMF's variable writes reached "
              f"{vars_path}")


EFI_GUID = "3d3c4a52-7a1c-4bd6-9f2c-56d1a8e0b6b1"  # this test's own vendor GUID
EFIVARS = "/sys/firmware/efi/efivars"


# A kernel message as the console shows it: "[    1.841545] tsc: ..."
KMSG = re.compile(r"\[\s*\d+\.\d+\] ")


def ovmf_guest(vars_path):
    """The default guest's shell under OVMF on q35 with the variable store vars_path."""
    boot = {"firmware": OVMF_CODE, "firmware_vars": vars_path, "kernel": kernel,
            "initrd": initrd, "cmdline": "console=ttyS0 panic=-1 no_timer_check"}
    g = LinuxGuest(kernel, initrd, vmm=vmm, extra_spec={"boot": boot, "machine": "q35"})
    guests.append(g)
    g.wait_ready(TIMEOUT)
    rc, out = g.run(f"grep -c efivarfs /proc/mounts; ls {EFIVARS} | grep -c -")
    # kernel messages on the console (the TSC's refined calibration ~2 s in) may come between
    lines = [ln for ln in out.split("\n") if ln.strip() and not KMSG.match(ln)]
    if rc != 0 or len(lines) != 2 or lines[0] != "1" or int(lines[1]) < 1:
        fail(f"efivarfs is not mounted with variables in the guest (status {rc}):\n{out}\n"
             f"{g.text()[-3000:]}")
    return g


def read_var(g, name):
    """The value of EFI variable name (without its 4-byte attributes), or None."""
    rc, out = g.run(f"f={EFIVARS}/{name}-{EFI_GUID}; [ -e $f ] && tail -c +5 $f")
    return "\n".join(ln for ln in out.split("\n") if not KMSG.match(ln)) if rc == 0 else None


def case_ovmf_vars():
    token = f"vmm-ovmf-{os.getpid()}-{int(time.time())}"
    name = "VmmTestToken"
    vars_path = ovmf_vars_copy("ovmf-vars.fd")
    g = ovmf_guest(vars_path)
    if read_var(g, name) is not None:
        fail(f"{name} exists before the guest wrote it")
    # no S3 under UEFI firmware (OVMF does not resume here): Linux offers only s2idle
    rc, out = g.run("cat /sys/power/mem_sleep")
    if rc != 0 or "s2idle" not in out or "deep" in out:
        fail(f"/sys/power/mem_sleep under OVMF: {out!r} (status {rc}), expected no deep")
    # attributes 7: non-volatile, boot service and runtime access; one write() for the whole
    rc, out = g.run(f"printf '\\007\\000\\000\\000{token}' > {EFIVARS}/{name}-{EFI_GUID}")
    if rc != 0 or read_var(g, name) != token:
        fail(f"the guest could not write {name} (status {rc}): {out}\n{g.text()[-3000:]}")
    if g.poweroff(TIMEOUT) != 0:
        fail(f"power-off: exit status {g.proc.returncode}")
    with open(vars_path, "rb") as f:
        if token.encode() not in f.read():
            fail(f"the token is not in {vars_path} after the first run")
    print(f"ok: the guest wrote {name}={token}; the bytes are in {vars_path}")

    g = ovmf_guest(vars_path)
    got = read_var(g, name)
    if got != token:
        fail(f"after the restart {name} is {got!r}, expected {token!r}\n{g.text()[-3000:]}")
    g.poweroff(TIMEOUT)
    print(f"ok: after a restart of the VMM with the same variables file, {name}={token}")

    g = ovmf_guest(ovmf_vars_copy("ovmf-vars-fresh.fd"))
    got = read_var(g, name)
    if got is not None:
        fail(f"a fresh copy of {OVMF_VARS} has {name}={got!r}")
    g.poweroff(TIMEOUT)
    print(f"ok: a fresh copy of {os.path.basename(OVMF_VARS)} does not have {name}")


def case_ovmf_esp(bus="ahci"):
    images("esp")
    boot = {"firmware": OVMF_CODE, "firmware_vars": ovmf_vars_copy(f"vars-esp-{bus}.fd")}
    vm = start([{"path": image("esp.img"), "format": "raw", "bus": bus, "readonly": True}],
               boot=boot, machine="q35")
    wait(vm, MARKER)
    # OVMF names an AHCI disk by its IDENTIFY model, a virtio-blk disk "UEFI Misc Device"
    check_before(vm, 'BdsDxe: starting Boot0001 "UEFI VMM HARDDISK' if bus == "ahci" else
                 'BdsDxe: starting Boot0001 "UEFI Misc Device', "Linux version")
    check_before(vm, "efi: EFI v", MARKER)
    # systemd-boot's entry: its options, after the initrd= it adds for the kernel's EFI stub
    check_before(vm, "Command line: initrd=\\initrd.img console=ttyS0", "vmm.boot=efi")
    check_before(vm, "vmm.boot=efi", MARKER)
    vm.kill()
    print(f"ok: OVMF -> systemd-boot from the ESP of a GPT disk on {bus} -> Linux on EFI -> "
          f"{MARKER}")


CASES = {
    "seabios-ahci": case_seabios_ahci,
    "seabios-virtio": case_seabios_virtio,
    "seabios-cdrom": case_seabios_cdrom,
    "seabios-order": case_seabios_order,
    "seabios-reboot": case_seabios_reboot,
    "seabios-q35": case_seabios_q35,
    "seabios-kernel": case_seabios_kernel,
    "linux-q35": case_linux_q35,
    "ovmf-kernel": case_ovmf_kernel,
    "ovmf-vars": case_ovmf_vars,
    "ovmf-esp": case_ovmf_esp,
    "ovmf-esp-virtio": lambda: case_ovmf_esp("virtio"),
}

try:
    if case not in CASES:
        fail(f"unknown case {case}")
    t0 = time.monotonic()
    CASES[case]()
    print(f"{case}: {time.monotonic() - t0:.1f} s")
except GuestError as e:
    fail(f"{case}: {e}\n{guests[-1].text()[-3000:] if guests else ''}")
finally:
    for v in vms:
        v.kill()
    for g in guests:
        g.close()
    subprocess.run(["rm", "-rf", work])
