#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark of the management plane (docs/management.md), against QEMU's QMP measured in the same
# run when qemu-system-x86_64 is installed:
#   1. API round trip: GET vmm.ping and GET vm.info, REQS times each on one keep-alive
#      connection and REQS/10 times on a fresh connection each (QEMU: query-status on its QMP
#      socket); median and 99th percentile.
#   2. Pause and resume under a busy guest: the time from sending vm.pause to its answer (which
#      comes once every vCPU has stopped) and the same for vm.resume, CYCLES times, for the
#      tiny busy-loop guest (tests/integration/guests/api_guest.S) under bt (and kvm when
#      usable), and for the default Linux guest with VCPUS vCPUs each spinning a shell loop
#      under bt (QEMU: stop / cont over QMP with the same Linux guest under TCG).
#   3. Power button to process exit: the default guest's generic kernel (acpid powers off on
#      the button), from sending vm.power-button to the vmm process ending, RUNS times (QEMU:
#      system_powerdown to exit, with the same guest).
#   4. The same for a Debian 12 systemd guest (tests/integration/systemd_guest.sh builds it; the
#      linux-systemd test leaves it in <BUILD>/systemd-guest): boot to the serial login, log in,
#      then vm.power-button to the vmm process ending after systemd's own shutdown, RUNS_SYSTEMD
#      times (QEMU: the same kernel, initramfs and VMDK root on virtio, -snapshot, and
#      system_powerdown). Skipped when that guest is not built.
# Usage: scripts/bench/api.sh   (REQS=2000 CYCLES=50 RUNS=3 VCPUS=2 by default)
#   BUILD=<dir>      build directory with src/vmm/vmm (default build)
#   VMM_GUEST_DIR=   the default guest (default <BUILD>/guest; scripts/build-guest.sh makes it)
#   SKIP_LINUX=1     only the tiny-guest parts
#   SYSTEMD_GUEST=   the Debian systemd guest (default <BUILD>/systemd-guest); RUNS_SYSTEMD=1;
#   ONLY_SYSTEMD=1   only part 4
# Needs python3. A benchmark, not a test: it prints figures and ratios, it asserts nothing.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd) || { echo "api: no build directory ${BUILD:-$root/build}" >&2; exit 2; }
vmm=$build/src/vmm/vmm
guest=${VMM_GUEST_DIR:-$build/guest}
tiny=$build/tests/integration/api_guest.bin
vmm_img=$build/src/vmdk/tool/vmm-img
for f in "$vmm" "$tiny" "$vmm_img"; do
	[ -e "$f" ] || { echo "missing $f (build first)" >&2; exit 1; }
done
export PYTHONDONTWRITEBYTECODE=1
exec python3 - "$root/tests/integration" "$vmm" "$guest" "$tiny" "${REQS:-2000}" \
	"${CYCLES:-50}" "${RUNS:-3}" "${VCPUS:-2}" "${SKIP_LINUX:-0}" "$vmm_img" \
	"${SYSTEMD_GUEST:-$build/systemd-guest}" "${RUNS_SYSTEMD:-1}" "${ONLY_SYSTEMD:-0}" <<'PY'
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from api_client import Api, Connection, wait_socket
from guest_shell import (SYSTEMD_CMDLINE, SYSTEMD_LOGIN, LinuxGuest, guest_dir,
                         systemd_boot_files, vmdk_delta)

vmm, gdefault, tiny = sys.argv[2], sys.argv[3], sys.argv[4]
reqs, cycles, runs, vcpus, skip_linux = (int(a) for a in sys.argv[5:10])
vmm_img, sdir, runs_systemd, only_systemd = sys.argv[10], sys.argv[11], int(sys.argv[12]), \
    sys.argv[13] == "1"
gdir = guest_dir(gdefault)
qemu = shutil.which("qemu-system-x86_64")
results = []


def us(xs):
    xs = sorted(xs)
    return statistics.median(xs) * 1e6, xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1e6


def report(what, ours, peer=None):
    m, p99 = us(ours)
    line = f"{what:52s} median {m:9.1f} us  p99 {p99:9.1f} us"
    if peer:
        pm, _ = us(peer)
        line += f"  | qemu {pm:9.1f} us  ratio {m / pm:5.2f}"
    print(line, flush=True)
    results.append((what, m, p99))


class Qmp:
    """QEMU's QMP on a unix socket: the greeting, qmp_capabilities, then commands."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name):
        self.f.write(json.dumps({"execute": name}).encode() + b"\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg or "error" in msg:
                return msg


def start_vmm(spec, d):
    sock = os.path.join(d, "api.sock")
    path = os.path.join(d, "spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    p = subprocess.Popen([vmm, "run", path, "--api-socket", sock], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_socket(sock, p)
    return p, sock


def timed(conn, method, path):
    t0 = time.perf_counter()
    r = conn.request(method, path)
    t = time.perf_counter() - t0
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r!r}")
    return t


def bench_round_trip():
    d = tempfile.mkdtemp(prefix="vmm-bench-")
    p, sock = start_vmm({"name": "bench", "memory_mib": 16, "accel": "bt",
                         "boot": {"flat": tiny}, "serial": {"target": "none"}}, d)
    try:
        c = Connection(sock)
        for ep in ("vmm.ping", "vm.info"):
            ours = [timed(c, "GET", "/api/v1/" + ep) for _ in range(reqs)]
            peer = None
            if qemu and ep == "vmm.ping":
                peer = qmp_round_trips()
            report(f"GET {ep}, keep-alive", ours, peer)
        c.close()
        fresh = []
        for _ in range(max(10, reqs // 10)):
            t0 = time.perf_counter()
            c = Connection(sock)
            c.request("GET", "/api/v1/vmm.ping")
            c.close()
            fresh.append(time.perf_counter() - t0)
        report("GET vmm.ping, a new connection each", fresh)
        Api(sock).put("vmm.shutdown")
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()


def qmp_round_trips():
    d = tempfile.mkdtemp(prefix="vmm-bench-qemu-")
    qs = os.path.join(d, "qmp.sock")
    q = subprocess.Popen([qemu, "-accel", "tcg", "-m", "16", "-display", "none", "-nodefaults",
                          "-S", "-qmp", f"unix:{qs},server=on,wait=off"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_socket(qs, q)
        m = Qmp(qs)
        out = []
        for _ in range(reqs):
            t0 = time.perf_counter()
            m.cmd("query-status")
            out.append(time.perf_counter() - t0)
        m.cmd("quit")
        return out
    finally:
        if q.poll() is None:
            q.kill()
        q.wait()


def pause_resume(sock, label, peer=None):
    c = Connection(sock)
    pauses, resumes = [], []
    for _ in range(cycles):
        time.sleep(0.02)  # let the guest run (and be busy) between cycles
        pauses.append(timed(c, "PUT", "/api/v1/vm.pause"))
        time.sleep(0.005)
        resumes.append(timed(c, "PUT", "/api/v1/vm.resume"))
    c.close()
    report(f"vm.pause, {label}", pauses, peer[0] if peer else None)
    report(f"vm.resume, {label}", resumes, peer[1] if peer else None)


def bench_tiny_pause():
    for accel in ("bt", "kvm"):
        if accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            print("vm.pause, tiny guest, kvm: skipped (no usable /dev/kvm)")
            continue
        d = tempfile.mkdtemp(prefix="vmm-bench-")
        p, sock = start_vmm({"name": "bench", "memory_mib": 16, "accel": accel,
                             "boot": {"flat": tiny}, "serial": {"target": "none"}}, d)
        try:
            pause_resume(sock, f"tiny busy guest, {accel}")
            Api(sock).put("vmm.shutdown")
            p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()


def spin(g):
    for _ in range(vcpus):
        g.run("(while :; do :; done) >/dev/null 2>&1 & true", 120)


def qemu_linux(kernel, extra_qmp):
    g = LinuxGuest(kernel, f"{gdir}/initramfs.cpio.gz", cmdline="console=ttyS0 panic=-1 no_timer_check",
                   vcpus=vcpus, engine="qemu",
                   qemu_extra=["-qmp", f"unix:{extra_qmp},server=on,wait=off"])
    g.wait_ready(900)
    return g, Qmp(extra_qmp)


def bench_linux_pause():
    kernel = f"{gdir}/vmlinuz-cloud"
    g = LinuxGuest(kernel, f"{gdir}/initramfs.cpio.gz", cmdline="console=ttyS0 panic=-1 no_timer_check",
                   vcpus=vcpus, vmm=vmm, accel="bt", api=True)
    try:
        g.wait_ready(900)
        spin(g)
        peer = None
        if qemu:
            qg, qm = qemu_linux(kernel, os.path.join(g.dir, "qmp.sock"))
            spin(qg)
            ps, rs = [], []
            for _ in range(cycles):
                time.sleep(0.02)
                t0 = time.perf_counter()
                qm.cmd("stop")
                ps.append(time.perf_counter() - t0)
                time.sleep(0.005)
                t0 = time.perf_counter()
                qm.cmd("cont")
                rs.append(time.perf_counter() - t0)
            qg.close()
            peer = (ps, rs)
        pause_resume(g.api_path, f"Linux, {vcpus} vCPUs spinning, bt", peer)
        g.poweroff(120)
    finally:
        g.close()


def bench_power_button():
    kernel = f"{gdir}/vmlinuz-generic"
    ours, peer = [], []
    for _ in range(runs):
        g = LinuxGuest(kernel, f"{gdir}/initramfs.cpio.gz", cmdline="console=ttyS0 panic=-1 no_timer_check",
                       vmm=vmm, accel="bt", api=True)
        try:
            g.wait_ready(900)
            time.sleep(1)
            t0 = time.perf_counter()
            Api(g.api_path).put("vm.power-button")
            rc = g.wait_exit(120)
            ours.append(time.perf_counter() - t0)
            if rc != 0:
                raise SystemExit(f"vmm exit status {rc} after the power button")
        finally:
            g.close()
        if qemu:
            d = tempfile.mkdtemp(prefix="vmm-bench-qemu-")
            qg, qm = qemu_linux(kernel, os.path.join(d, "qmp.sock"))
            time.sleep(1)
            t0 = time.perf_counter()
            qm.cmd("system_powerdown")
            qg.wait_exit(120)
            peer.append(time.perf_counter() - t0)
            qg.close()
    report("vm.power-button to vmm exit, Linux (generic), bt", ours, peer or None)


def systemd_run(engine):
    """Boot the systemd guest to its login, log in, press the power button: (boot s, press s)."""
    d = tempfile.mkdtemp(prefix="vmm-bench-systemd-")
    kernel, initrd = systemd_boot_files(sdir)
    try:
        if engine == "vmm":
            disk, _ = vmdk_delta(f"{sdir}/root.vmdk", d, vmm_img)
            g = LinuxGuest(kernel, initrd, cmdline=SYSTEMD_CMDLINE, memory_mib=512, vmm=vmm,
                           accel="bt", disks=[{"path": disk, "format": "vmdk", "bus": "virtio"}],
                           api=True)
        else:
            qs = os.path.join(d, "qmp.sock")
            g = LinuxGuest(kernel, initrd, cmdline=SYSTEMD_CMDLINE, memory_mib=512, engine="qemu",
                           qemu_extra=["-snapshot", "-drive",
                                       f"file={sdir}/root.vmdk,format=vmdk,if=virtio",
                                       "-qmp", f"unix:{qs},server=on,wait=off"])
        try:
            boot = g.login(SYSTEMD_LOGIN, 3000)
            g.run("true", 120)
            time.sleep(1)
            t0 = time.perf_counter()
            if engine == "vmm":
                Api(g.api_path).put("vm.power-button")
            else:
                Qmp(qs).cmd("system_powerdown")
            rc = g.read_until_exit(600)
            press = time.perf_counter() - t0
            if engine == "vmm" and rc != 0:
                raise SystemExit(f"vmm exit status {rc} after the power button")
            return boot, press
        finally:
            g.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def bench_systemd():
    ours = [systemd_run("vmm") for _ in range(runs_systemd)]
    peer = [systemd_run("qemu") for _ in range(runs_systemd)] if qemu else []
    for i, what in ((0, "boot to the serial login"), (1, "vm.power-button to exit")):
        m = statistics.median(r[i] for r in ours)
        line = f"Debian 12 systemd guest, bt: {what:27s} median {m:7.1f} s"
        if peer:
            pm = statistics.median(r[i] for r in peer)
            line += f"  | qemu tcg {pm:7.1f} s  ratio {m / pm:5.2f}"
        print(line, flush=True)


print(f"vmm: {vmm}")
print(f"peer: {qemu or 'qemu-system-x86_64 not installed: no ratios'}")
if not only_systemd:
    bench_round_trip()
    bench_tiny_pause()
if skip_linux:
    print("Linux parts skipped (SKIP_LINUX=1)")
elif gdir is None:
    print(f"Linux parts skipped: the default guest is not built in {gdefault}")
else:
    if not only_systemd:
        bench_linux_pause()
        bench_power_button()
    if os.path.exists(os.path.join(sdir, "root.vmdk")):
        bench_systemd()
    else:
        print(f"systemd guest part skipped: no guest in {sdir} (run the linux-systemd test)")
PY
