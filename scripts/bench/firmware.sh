#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 13 (firmware): boot Debian's SeaBIOS on the Q35 machine from a SYSLINUX
# disk on the ICH9 AHCI controller (tests/firmware/build_images.sh hd:q35, the default guest's
# cloud kernel and initramfs on it) to the VMM-GUEST-READY marker, with this vmm (accel bt,
# "machine": "q35") and with qemu-system-x86_64 -machine q35 -accel tcg, the same image and
# firmware for both, RUNS times each, interleaved so both see the same host load. Prints the
# wall time of each run (process start to the marker on the serial line), the medians and the
# ratio ours/qemu; then the same with that disk on virtio-blk. Then the same for Debian's OVMF
# (OVMF_CODE_4M.fd, a fresh copy of OVMF_VARS_4M.fd per boot: boot.firmware_vars here, -drive
# if=pflash for qemu) booting the default guest's kernel and initramfs through fw_cfg
# (boot.kernel; qemu -kernel -initrd -append) on q35; skipped with a note when the ovmf package
# is missing.
# Usage: scripts/bench/firmware.sh [RUNS]   (default 3)
#   BUILD=<dir>      build directory with src/vmm/vmm (default build)
#   VMM_GUEST_DIR=   the default guest (default <BUILD>/guest; scripts/build-guest.sh makes it)
#   TIMEOUT=         seconds per boot (default 600)
# Needs python3, qemu-system-x86_64 (Debian's qemu-system-x86), seabios, ovmf and the image tools
# of scripts/deps.sh test. A benchmark, not a test.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd) || { echo "firmware: no build directory ${BUILD:-$root/build}" >&2; exit 2; }
runs=${1:-3}
vmm=$build/src/vmm/vmm
guest=${VMM_GUEST_DIR:-$build/guest}
bios=/usr/share/seabios/bios.bin
for f in "$vmm" "$guest/vmlinuz-cloud" "$guest/initramfs.cpio.gz" "$bios"; do
	[ -e "$f" ] || { echo "missing $f (build first; scripts/build-guest.sh $build/guest; scripts/deps.sh test)" >&2; exit 1; }
done
guest=$(cd "$guest" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "missing qemu-system-x86_64" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench-firmware.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
sh "$root/tests/firmware/build_images.sh" "$guest/vmlinuz-cloud" "$guest/initramfs.cpio.gz" \
	"$work" hd:q35 >/dev/null || { echo "firmware: build_images.sh hd:q35 failed" >&2; exit 1; }
export PYTHONDONTWRITEBYTECODE=1
python3 - "$vmm" "$work" "$bios" "$runs" "${TIMEOUT:-600}" "$guest" <<'PY'
import json, os, shutil, signal, statistics, subprocess, sys, time

vmm, work, bios, runs, timeout, guest = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
image = os.path.join(work, "hd-q35.img")
kernel = os.path.join(guest, "vmlinuz-cloud")
initrd = os.path.join(guest, "initramfs.cpio.gz")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
CMDLINE = "console=ttyS0 panic=-1 no_timer_check"
MARKER = b"VMM-GUEST-READY"


def command(case, engine, serial):
    qemu = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "256", "-smp", "1",
            "-display", "none", "-vga", "none", "-no-reboot", "-serial", f"file:{serial}",
            "-monitor", "none"]
    if case == "ovmf":
        vars_path = os.path.join(work, f"vars-{engine}.fd")
        shutil.copyfile(OVMF_VARS, vars_path)  # a fresh store per boot, for both
    if engine == "vmm":
        spec = {"name": "bench-firmware", "vcpus": 1, "memory_mib": 256, "accel": "bt",
                "machine": "q35", "serial": {"target": "file", "path": serial}}
        if case.startswith("seabios"):
            spec["boot"] = {"firmware": bios}
            spec["disks"] = [{"path": image, "format": "raw",
                              "bus": "virtio" if case == "seabios-virtio" else "ahci"}]
        else:
            spec["boot"] = {"firmware": OVMF_CODE, "firmware_vars": vars_path,
                            "kernel": kernel, "initrd": initrd, "cmdline": CMDLINE}
        path = os.path.join(work, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        return [vmm, "run", path]
    if case.startswith("seabios"):
        disk = ("virtio-blk-pci,drive=d0" if case == "seabios-virtio" else
                "ide-hd,drive=d0,bus=ide.0")
        return qemu + ["-bios", bios, "-drive", f"file={image},format=raw,if=none,id=d0",
                       "-device", disk]
    return qemu + ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                   "-drive", f"if=pflash,format=raw,unit=1,file={vars_path}",
                   "-kernel", kernel, "-initrd", initrd, "-append", CMDLINE]


def boot(case, engine):
    serial = os.path.join(work, f"serial-{engine}.log")
    open(serial, "wb").close()
    t0 = time.monotonic()
    p = subprocess.Popen(command(case, engine, serial), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        while time.monotonic() - t0 < timeout:
            with open(serial, "rb") as f:
                if MARKER in f.read():
                    return time.monotonic() - t0
            if p.poll() is not None:
                err = p.stderr.read().decode(errors="replace")
                raise RuntimeError(f"exited with status {p.returncode} before the marker: {err}")
            time.sleep(0.05)
        raise RuntimeError(f"no marker in {timeout:.0f} s")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


names = {"vmm": "vmm (accel bt, q35)", "qemu": "qemu-system-x86_64 -machine q35 -accel tcg"}
titles = {"seabios": "SeaBIOS -> SYSLINUX (AHCI disk) -> Linux",
          "seabios-virtio": "SeaBIOS -> SYSLINUX (virtio-blk disk) -> Linux",
          "ovmf": "OVMF -> Linux through fw_cfg (EFI stub)"}
cases = ["seabios", "seabios-virtio"]
if os.path.exists(OVMF_CODE) and os.path.exists(OVMF_VARS):
    cases.append("ovmf")
else:
    print(f"note: {OVMF_CODE} or {OVMF_VARS} is missing (Debian's ovmf): OVMF not measured")
for case in cases:
    print(f"{titles[case]}:")
    times = {"vmm": [], "qemu": []}
    for i in range(runs):
        for engine in ("vmm", "qemu"):
            try:
                t = boot(case, engine)
            except RuntimeError as e:
                print(f"run {i + 1}: {names[engine]}: failed: {e}")
                sys.exit(1)
            times[engine].append(t)
            print(f"run {i + 1}: {names[engine]}: {t:.2f} s from start to VMM-GUEST-READY",
                  flush=True)
    med = {e: statistics.median(v) for e, v in times.items()}
    for e in ("vmm", "qemu"):
        print(f"median {names[e]}: {med[e]:.2f} s over {runs} runs")
    print(f"ratio ours/qemu (medians), {case}: {med['vmm'] / med['qemu']:.2f}")
print(f"host load average at the end: {os.getloadavg()[0]:.1f} "
      f"on {os.cpu_count()} CPUs")
PY
