#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 14 (docs/snapshots.md), this VMM (accel bt) against QEMU TCG in the same
# run, with the default Linux guest booted to its shell:
#   migration: a MIG_MIB (default 1024) MiB guest, idle, then one running linux_memwalk.c
#             (rewriting WALK_MIB MiB, default 16, every 100 ms: a known dirty rate), moved
#             over a unix socket to a second process started to receive it: total time and
#             downtime as each VMM reports them (ours: the source's log line; QEMU:
#             query-migrate's total-time and downtime, its downtime-limit set to 50 ms like
#             ours)
# and snapshot and restore for each RAM size in SIZES (MiB, default "512 4096"), idle:
#   snapshot: vmm: PUT vm.snapshot {"resume": false} timed around the API call;
#             QEMU: QMP stop, then migrate "exec:cat > FILE" until query-migrate says completed
#   restore:  vmm: `vmm run --restore DIR --paused` from spawn until vm.info answers Paused
#             (and the restore time the VMM itself logs); QEMU: -incoming "exec:cat FILE" -S
#             from spawn until query-status says paused
#   size:     the bytes the snapshot occupies on disk (allocated blocks)
# Prints the figures per engine and size and the ratios QEMU / ours (> 1: ours is faster or
# smaller). PARTS="migrate snapshot" picks the parts.
# Usage: scripts/bench/migrate.sh [BUILD_DIR] [GUEST_DIR]
#   BUILD_DIR defaults to build (needs src/vmm/vmm), GUEST_DIR to $VMM_GUEST_DIR or
#   /work/guest or BUILD_DIR/guest (scripts/build-guest.sh). SIZES and ENGINES="vmm qemu" tune
#   the run; the qemu engine needs qemu-system-x86_64 (Debian's qemu-system-x86).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) ||
	{ echo "migrate: no build directory ${1:-build}" >&2; exit 2; }
vmm=$build/src/vmm/vmm
guest=${2:-${VMM_GUEST_DIR:-}}
if [ -z "$guest" ]; then
	for g in /work/guest "$build/guest"; do
		[ -f "$g/vmlinuz-generic" ] && guest=$g && break
	done
fi
[ -n "$guest" ] && [ -f "$guest/vmlinuz-generic" ] || {
	echo "no built guest (scripts/build-guest.sh DIR, then pass DIR)" >&2
	exit 1
}
guest=$(cd "$guest" && pwd)
export VMM_GUEST_DIR=$guest SIZES=${SIZES:-512 4096} ENGINES=${ENGINES:-vmm qemu}
export MIG_MIB=${MIG_MIB:-1024} WALK_MIB=${WALK_MIB:-16} PARTS=${PARTS:-migrate snapshot}
set -- "$vmm"
case " $ENGINES " in *" qemu "*) set -- "$@" qemu-system-x86_64 ;; esac
for t in "$@"; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1 exec python3 - "$vmm" <<'PY'
import json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time
from api_client import Api, wait_socket
from guest_shell import GuestError, LinuxGuest
import linux_storage

vmm = sys.argv[1]
gdir = os.environ["VMM_GUEST_DIR"]
kernel, initrd = os.path.join(gdir, "vmlinuz-generic"), os.path.join(gdir, "initramfs.cpio.gz")
work = tempfile.mkdtemp(prefix="vmm-bench-migrate-")
# no_timer_check: see linux_boot.py (a loaded host's coalesced PIT ticks fail Linux's check).
CMDLINE = "console=ttyS0 panic=-1 no_timer_check quiet"
src_dir = os.path.dirname(os.path.abspath(linux_storage.__file__))


def walker_initrd():
    """The default initramfs plus /vmmtest/memwalk (tests/integration/linux_memwalk.c)."""
    exe, out = os.path.join(work, "memwalk"), os.path.join(work, "initrd-walk.img")
    subprocess.run(["gcc", "-static", "-O2", "-o", exe,
                    os.path.join(src_dir, "linux_memwalk.c")], check=True)
    with open(initrd, "rb") as f:
        base = f.read()
    with open(exe, "rb") as f:
        walker = f.read()
    with open(out, "wb") as f:
        f.write(base + b"\0" * (-len(base) % 4))
        f.write(linux_storage.cpio_newc([("vmmtest", 0o40755, b""),
                                         ("vmmtest/memwalk", 0o100755, walker)]))
    return out


def du(path):
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    return sum(os.stat(os.path.join(d, f)).st_blocks * 512
               for d, _, fs in os.walk(path) for f in fs)


class Qmp:
    def __init__(self, path, proc, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise GuestError(f"qemu exited with {proc.returncode}")
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise GuestError(f"{path}: no QMP socket")
                time.sleep(0.02)
        self.f = self.s.makefile("rb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise GuestError(f"QMP {name}: {msg['error']}")

    def close(self):
        self.s.close()


def wait_until(fn, what, timeout=600):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise GuestError(f"{what}: not within {timeout} s")
        time.sleep(0.005)


def kill(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def bench_vmm(mib):
    g = LinuxGuest(kernel, initrd, cmdline=CMDLINE, memory_mib=mib, vmm=vmm,
                   accel="bt", api=True)
    snap = os.path.join(work, f"vmm-{mib}")
    try:
        g.wait_ready(900)
        t = time.monotonic()
        r = Api(g.api_path).put("vm.snapshot", {"destination_url": "file://" + snap,
                                                "resume": False}, timeout=1800)
        t_snap = time.monotonic() - t
        if r.status != 204:
            raise GuestError(f"vm.snapshot: {r!r}")
    finally:
        g.close()
    api = os.path.join(work, f"vmm-{mib}.sock")
    log = open(os.path.join(work, f"vmm-{mib}.log"), "w+")
    t = time.monotonic()
    p = subprocess.Popen([vmm, "run", "--restore", snap, "--paused", "--api-socket", api,
                          "--set", f"serial.path={os.path.join(work, f'vmm-{mib}-serial.sock')}"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        wait_socket(api, p, 600)
        a = Api(api)
        wait_until(lambda: a.state() == "Paused", "vm restore")
        t_restore = time.monotonic() - t
        size = du(snap)
    finally:
        kill(p)
        shutil.rmtree(snap, ignore_errors=True)
    log.seek(0)
    m = re.search(r"RAM read in (\d+) ms", log.read())
    return {"snapshot": t_snap, "restore": t_restore, "size": size,
            "inner": int(m.group(1)) / 1000 if m else None}


def bench_qemu(mib):
    qmp_path = os.path.join(work, f"qemu-{mib}.qmp")
    g = LinuxGuest(kernel, initrd, cmdline=CMDLINE, memory_mib=mib,
                   engine="qemu", qemu_extra=["-qmp", f"unix:{qmp_path},server=on,wait=off"])
    state = os.path.join(work, f"qemu-{mib}.state")
    try:
        g.wait_ready(900)
        q = Qmp(qmp_path, g.proc)
        t = time.monotonic()
        q.cmd("stop")
        q.cmd("migrate", uri=f"exec:cat > {state}")
        wait_until(lambda: q.cmd("query-migrate").get("status") in ("completed", "failed"),
                   "qemu migrate")
        t_snap = time.monotonic() - t
        if q.cmd("query-migrate")["status"] != "completed":
            raise GuestError("qemu migrate failed")
        q.close()
    finally:
        g.close()
    qmp2 = os.path.join(work, f"qemu-{mib}-in.qmp")
    t = time.monotonic()
    p = subprocess.Popen(["qemu-system-x86_64", "-accel", "tcg", "-m", str(mib), "-kernel", kernel,
                          "-initrd", initrd, "-append", CMDLINE, "-display", "none",
                          "-no-reboot", "-nodefaults", "-serial", "null", "-S",
                          "-incoming", f"exec:cat {state}",
                          "-qmp", f"unix:{qmp2},server=on,wait=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        q = Qmp(qmp2, p, 600)
        wait_until(lambda: q.cmd("query-status")["status"] not in ("inmigrate", "prelaunch"),
                   "qemu incoming")
        t_restore = time.monotonic() - t
        status = q.cmd("query-status")["status"]
        if status != "paused":
            raise GuestError(f"qemu incoming ended {status}")
        q.close()
        size = du(state)
    finally:
        kill(p)
        if os.path.exists(state):
            os.unlink(state)
    return {"snapshot": t_snap, "restore": t_restore, "size": size, "inner": None}


def start_walker(g, walk):
    if walk:
        # "CMD & true": run() appends "; echo ...", and "CMD &;" is a shell syntax error.
        rc, out = g.run(f"(/vmmtest/memwalk {os.environ['WALK_MIB']} 100 > /dev/null) & true",
                        timeout=600)
        if rc != 0:
            raise GuestError(f"the memory walker did not start: {out}")
        time.sleep(2)


def mig_vmm(mib, walk, rd):
    g = LinuxGuest(kernel, rd, cmdline=CMDLINE, memory_mib=mib, vmm=vmm,
                   accel="bt", api=True)
    api = os.path.join(work, "dst-api.sock")
    listen = os.path.join(work, "mig.sock")
    log = open(os.path.join(work, "dst.log"), "w+")
    d = None
    try:
        g.wait_ready(900)
        start_walker(g, walk)
        d = subprocess.Popen([vmm, "run", "--api-socket", api], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log)
        wait_socket(api, d, 60)
        res = {}
        t = threading.Thread(target=lambda: res.setdefault("r", Api(api).put(
            "vm.receive-migration", {"receiver_url": "unix:" + listen,
                                     "set": [f"serial.path={work}/dst-serial.sock"]},
            timeout=1800)))
        t.start()
        wait_until(lambda: os.path.exists(listen), "the destination listening", 60)
        r = Api(g.api_path).put("vm.send-migration", {"destination_url": "unix:" + listen,
                                                      "downtime_ms": 50}, timeout=1800)
        t.join(120)
        if r.status != 204 or res.get("r") is None or res["r"].status != 204:
            raise GuestError(f"migration: {r!r} {res.get('r')!r}")
        g.proc.wait(60)
        m = re.search(r"migrated to .*: (\d+) MiB sent in (\d+) rounds \(([a-z ]+)\), (\d+) ms "
                      r"in all, (\d+) ms paused", g.stderr_text())
        if not m:
            raise GuestError("no migration summary in the source's log")
        return {"total": int(m.group(4)), "downtime": int(m.group(5)),
                "mib": int(m.group(1)), "note": f"{m.group(2)} rounds, {m.group(3)}"}
    finally:
        g.close()
        if d:
            kill(d)
        for p in (listen, api):
            if os.path.exists(p):
                os.unlink(p)


def mig_qemu(mib, walk, rd):
    qmp = os.path.join(work, "src.qmp")
    g = LinuxGuest(kernel, rd, cmdline=CMDLINE, memory_mib=mib, engine="qemu",
                   qemu_extra=["-qmp", f"unix:{qmp},server=on,wait=off"])
    listen = os.path.join(work, "qmig.sock")
    qmp2 = os.path.join(work, "dst.qmp")
    d = None
    try:
        g.wait_ready(900)
        start_walker(g, walk)
        d = subprocess.Popen(["qemu-system-x86_64", "-accel", "tcg", "-m", str(mib), "-kernel",
                              kernel, "-initrd", rd, "-append", CMDLINE,
                              "-display", "none", "-no-reboot", "-nodefaults", "-serial", "null",
                              "-incoming", f"unix:{listen}",
                              "-qmp", f"unix:{qmp2},server=on,wait=off"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        qd = Qmp(qmp2, d, 60)
        wait_until(lambda: os.path.exists(listen), "qemu listening", 60)
        q = Qmp(qmp, g.proc)
        q.cmd("migrate-set-parameters", **{"downtime-limit": 50})
        q.cmd("migrate", uri=f"unix:{listen}")
        wait_until(lambda: q.cmd("query-migrate").get("status") in ("completed", "failed"),
                   "qemu migrate", 1800)
        info = q.cmd("query-migrate")
        if info["status"] != "completed":
            raise GuestError(f"qemu migrate: {info}")
        wait_until(lambda: qd.cmd("query-status")["status"] == "running", "qemu destination")
        ram = info.get("ram", {})
        return {"total": info.get("total-time", 0), "downtime": info.get("downtime", 0),
                "mib": ram.get("transferred", 0) >> 20,
                "note": f"{ram.get('dirty-sync-count', '?')} dirty syncs"}
    finally:
        g.close()
        if d:
            kill(d)


mig_results = {}
if "migrate" in os.environ["PARTS"].split():
    rd = walker_initrd()
    mib = int(os.environ["MIG_MIB"])
    for walk in (False, True):
        for engine in os.environ["ENGINES"].split():
            what = "writing memory" if walk else "idle"
            print(f"{engine}: {mib} MiB guest, {what}: booting, migrating...", flush=True)
            try:
                r = mig_results[(engine, walk)] = (mig_vmm if engine == "vmm" else mig_qemu)(
                    mib, walk, rd)
                print(f"  total {r['total']} ms, downtime {r['downtime']} ms, {r['mib']} MiB "
                      f"sent ({r['note']})", flush=True)
            except (GuestError, OSError, subprocess.SubprocessError) as e:
                print(f"{engine}: migration failed: {str(e).strip()[-1500:]}", flush=True)

results = {}
snap_sizes = [int(s) for s in os.environ["SIZES"].split()]
for mib in snap_sizes if "snapshot" in os.environ["PARTS"].split() else []:
    for engine in os.environ["ENGINES"].split():
        print(f"{engine}: {mib} MiB guest: booting, snapshot, restore...", flush=True)
        try:
            r = results[(engine, mib)] = (bench_vmm if engine == "vmm" else bench_qemu)(mib)
            print(f"  snapshot {r['snapshot'] * 1000:.0f} ms, restore {r['restore'] * 1000:.0f} "
                  f"ms, {r['size'] / 2**20:.0f} MiB on disk", flush=True)
        except (GuestError, OSError) as e:
            print(f"{engine}: {mib} MiB: failed: {str(e).strip()[-1500:]}", flush=True)
shutil.rmtree(work, ignore_errors=True)
print()
for (engine, walk), r in mig_results.items():
    print(f"{engine:5s} migration, {os.environ['MIG_MIB']} MiB, "
          f"{'writing ' + os.environ['WALK_MIB'] + ' MiB every 100 ms' if walk else 'idle'}: "
          f"total {r['total']} ms, downtime {r['downtime']} ms, {r['mib']} MiB sent "
          f"({r['note']})")
for walk in (False, True):
    v, q = mig_results.get(("vmm", walk)), mig_results.get(("qemu", walk))
    if v and q:
        print(f"migration {'writing' if walk else 'idle'}, QEMU / ours (> 1: ours faster): "
              f"total {q['total'] / max(v['total'], 1):.2f}, downtime "
              f"{q['downtime'] / max(v['downtime'], 1):.2f}")
for (engine, mib), r in results.items():
    inner = f" (restore inside the VMM {r['inner'] * 1000:.0f} ms)" if r["inner"] else ""
    print(f"{engine:5s} {mib:5d} MiB: snapshot {r['snapshot'] * 1000:.0f} ms, restore "
          f"{r['restore'] * 1000:.0f} ms{inner}, {r['size'] / 2**20:.0f} MiB on disk")
for mib in [int(s) for s in os.environ["SIZES"].split()]:
    v, q = results.get(("vmm", mib)), results.get(("qemu", mib))
    if v and q:
        print(f"{mib} MiB, QEMU / ours (> 1: ours faster or smaller): snapshot "
              f"{q['snapshot'] / v['snapshot']:.2f}, restore {q['restore'] / v['restore']:.2f}, "
              f"size {q['size'] / max(v['size'], 1):.2f}")
nr_engines = len(os.environ["ENGINES"].split())
want = (2 * nr_engines if "migrate" in os.environ["PARTS"].split() else 0) + (
    len(os.environ["SIZES"].split()) * nr_engines if "snapshot" in os.environ["PARTS"].split()
    else 0)
sys.exit(0 if len(results) + len(mig_results) == want else 1)
PY
