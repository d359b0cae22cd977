#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 12 "Benchmark": an in-guest `wget -O /dev/null` of a SIZE_MIB file from
# an HTTP server on the host, with e1000 and virtio-net, through user-mode networking (slirp:
# the server on the host loopback, reached at 10.0.2.2) and, where the host allows (root,
# /dev/net/tun, network namespaces), through a TAP on a bridge in a private namespace (the
# server on the bridge's address); this VMM (accel bt) against qemu-system-x86_64 -accel tcg
# with the same guest (the default Linux guest: generic kernel, its own e1000 and virtio_net
# drivers) and the same back end, in one run. Then two of our VMs (e1000 and virtio-net) on
# the bridge: guest-to-guest throughput. Each transfer is timed on the host around the shell
# command, best of REPEAT. Prints MB/s per engine, device and back end, the ratios ours /
# QEMU TCG (>= 1: at least TCG's throughput), and the host's load average before and after
# (the machine is shared: the figures move with it).
# Usage: scripts/bench/net.sh [BUILD_DIR] [GUEST_DIR]
#   BUILD_DIR defaults to build (needs src/vmm/vmm), GUEST_DIR to $VMM_GUEST_DIR or
#   BUILD_DIR/guest (scripts/build-guest.sh). SIZE_MIB (default 256), REPEAT (default 1),
#   ENGINES ("vmm qemu"), BACKENDS ("user tap"), MODELS ("e1000 virtio") and G2G (1: the
#   guest-to-guest run; 0: not) tune it; BIG_MTU (e.g. 65520; default 0: none) adds a run of
#   ours with virtio-net and slirp at that MTU ("mtu" in the spec, announced to the guest).
#   STATS=1 also prints, per case, what the guest and the host did during the timed transfer:
#   the guest's received frames per second and bytes per frame (its /proc/net/dev, as the
#   driver counts them: a GSO/LRO frame through virtio-net is one), the NIC's interrupts per
#   second (its /proc/interrupts lines), the guest's CPU split (/proc/stat), for ours the NIC's
#   register accesses per received frame (vm.counters), and each host thread's time on a CPU,
#   time waiting for one, and how often it was scheduled in (/proc/PID/task/*/schedstat; QEMU
#   gets debug-threads=on to name its threads), with its CPU time per MiB received.
#   The qemu engine needs Debian's qemu-system-x86.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) ||
	{ echo "net: no build directory ${1:-build}" >&2; exit 2; }
vmm=$build/src/vmm/vmm
guest=${2:-${VMM_GUEST_DIR:-$build/guest}}
[ -f "$guest/vmlinuz-generic" ] || {
	echo "no built guest in $guest (scripts/build-guest.sh DIR, then pass DIR)" >&2
	exit 1
}
export VMM_GUEST_DIR=$(cd "$guest" && pwd)
export SIZE_MIB=${SIZE_MIB:-256} REPEAT=${REPEAT:-1} ENGINES=${ENGINES:-vmm qemu}
export BACKENDS=${BACKENDS:-user tap} MODELS=${MODELS:-e1000 virtio} G2G=${G2G:-1}
export BIG_MTU=${BIG_MTU:-0} STATS=${STATS:-0}
set -- "$vmm"
case " $ENGINES " in *" qemu "*) set -- "$@" qemu-system-x86_64 ;; esac
for t in "$@"; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1 exec python3 - "$vmm" <<'PY'
import os, shutil, subprocess, sys, tempfile, time
import linux_net as ln
from api_client import Api
from guest_shell import GuestError

vmm = sys.argv[1]
gdir = os.environ["VMM_GUEST_DIR"]
size = int(os.environ["SIZE_MIB"])
repeat = int(os.environ["REPEAT"])
engines = os.environ["ENGINES"].split()
backends = os.environ["BACKENDS"].split()
models = os.environ["MODELS"].split()
stats = os.environ["STATS"] == "1"
work = tempfile.mkdtemp(prefix="vmm-bench-net-")
initrd, release = ln.build_initrd(gdir, work)
www = os.path.join(work, "www")
os.makedirs(www)
with open(os.path.join(www, "blob"), "wb") as f:
    for _ in range(size):
        f.write(os.urandom(1 << 20))
QDEV = {"e1000": "e1000", "virtio": "virtio-net-pci"}
NS = f"vmmbench{os.getpid()}"


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(g, cmd):
    best = None
    for _ in range(repeat):
        t = time.monotonic()
        ln.grun(g, cmd, timeout=3600)
        dt = time.monotonic() - t
        best = dt if best is None else min(best, dt)
    return best


def guest(engine, nic, qemu_netdev, wrapper=None, memory=512):
    qemu = ["-netdev", qemu_netdev, "-device", f"{QDEV[nic['model']]},netdev=n0"]
    if stats:
        qemu += ["-name", "bench,debug-threads=on"]
    return ln.start_guest(wrapper or vmm, gdir, initrd, [nic], engine, None, qemu, api=stats,
                          memory=memory)


def sample(g):
    """What STATS compares: the guest's eth0 counters and NIC interrupts, the host threads'
    CPU ticks, our vm.counters."""
    out = ln.grun(g, "cat /proc/net/dev; echo ==; cat /proc/interrupts; echo ==; head -1 /proc/stat")
    dev, irqs, cpu = out.split("==", 2)
    s = {"rx_frames": 0, "rx_bytes": 0, "tx_frames": 0, "irqs": 0}
    f = cpu.split()  # cpu user nice system idle iowait irq softirq
    s["gcpu"] = [int(f[1]) + int(f[2]), int(f[3]), int(f[6]) + int(f[7]), int(f[4]) + int(f[5])]
    for line in dev.splitlines():
        if line.strip().startswith("eth0:"):
            f = line.split(":", 1)[1].split()
            s.update(rx_bytes=int(f[0]), rx_frames=int(f[1]), tx_frames=int(f[9]))
    for line in irqs.splitlines():
        f = line.split()
        if f and f[0].endswith(":") and ("eth0" in line or "virtio0-" in line):
            s["irqs"] += sum(int(x) for x in f[1:] if x.isdigit())
    s["threads"] = {}
    task = f"/proc/{g.proc.pid}/task"
    for tid in os.listdir(task):
        try:
            with open(f"{task}/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"{task}/{tid}/schedstat") as f:
                st = [int(x) for x in f.read().split()[:3]]  # ns on a CPU, ns runnable, runs
        except OSError:
            continue
        s["threads"][(comm, tid)] = st
    s["counters"] = Api(g.api_path).get("vm.counters").json() if g.api_path else {}
    return s


def report(engine, model, backend, a, b, dt):
    rx = b["rx_frames"] - a["rx_frames"]
    line = (f"  stats {engine} {model} {backend}: rx {rx / dt:8.0f} frames/s, "
            f"{(b['rx_bytes'] - a['rx_bytes']) / max(rx, 1):6.0f} B/frame; "
            f"tx {(b['tx_frames'] - a['tx_frames']) / dt:7.0f} frames/s; "
            f"NIC irqs {(b['irqs'] - a['irqs']) / dt:7.0f}/s")
    ca, cb = a["counters"].get("net0", {}), b["counters"].get("net0", {})
    acc = sum(v - ca.get(k, 0) for k, v in cb.items() if k.endswith(("_reads", "_writes")))
    if cb:
        line += f"; register accesses {acc / max(rx, 1):.1f}/rx frame"
    gc = [y - x for x, y in zip(a["gcpu"], b["gcpu"])]
    line += ("; guest CPU user {:.0f}% sys {:.0f}% irq {:.0f}% idle {:.0f}%"
             .format(*(100 * x / max(sum(gc), 1) for x in gc)))
    cpu = {}
    for k, v in b["threads"].items():
        was = a["threads"].get(k, (0, 0, 0))
        c = cpu.setdefault(k[0], [0, 0, 0])
        c[0] += (v[0] - was[0]) / 1e9 / dt * 100
        c[1] += (v[1] - was[1]) / 1e9 / dt * 100
        c[2] += (v[2] - was[2]) / dt
    mib = (b["rx_bytes"] - a["rx_bytes"]) / (1 << 20)
    line += "; host threads (on a CPU, waiting for one, runs/s) " + ", ".join(
        f"{n} {p[0]:.0f}% {p[1]:.0f}% {p[2]:.0f} ({p[0] * dt * 10 / max(mib, 1):.1f} ms/MiB)"
        for n, p in sorted(cpu.items(), key=lambda x: -x[1][0]) if p[0] >= 1)
    print(line, flush=True)


def one(engine, model, backend, url, ip=None, wrapper=None, mtu=0):
    if backend == "user":
        nic = {"model": model, "backend": "user"}
        if mtu:
            nic["mtu"] = mtu
        netdev = "user,id=n0"
    else:
        nic = {"model": model, "backend": "tap", "tap": "tapa", "mac": "52:54:00:77:00:01"}
        netdev = "tap,id=n0,ifname=tapa,script=no,downscript=no"
    g = guest(engine, nic, netdev, wrapper)
    try:
        g.wait_ready(timeout=1800)
        ln.guest_up(g)
        if ip:
            ln.grun(g, f"ip addr add {ip}/24 dev eth0")
            ln.wait_carrier(g, 1)
        else:
            ln.grun(g, "udhcpc -i eth0 -s /vmmtest/udhcpc.sh -n -q -t 10 -T 3", timeout=300)
        ln.grun(g, f"wget -q -O /dev/null {url}", timeout=3600)  # warm: TCP, caches
        a = sample(g) if stats else None
        t0 = time.monotonic()
        dt = timed(g, f"wget -q -O /dev/null {url}")
        if stats:
            report(engine, model, backend, a, sample(g), time.monotonic() - t0)
        g.poweroff(timeout=300)
    except GuestError as e:
        print(f"{engine} {model} {backend}: {e}\n{g.text()[-2000:]}", file=sys.stderr)
        g.close()
        return None
    g.close()
    return size * 1.048576 / dt  # MB/s (10^6 bytes)


results = {}
print(f"load average before: {load()}; kernel {release}; {size} MiB per transfer, "
      f"best of {repeat}", flush=True)
srv = ln.HttpServer(www)
if "user" in backends:
    for model in models:
        for engine in engines:
            r = one(engine, model, "user", f"http://10.0.2.2:{srv.port}/blob")
            results[(engine, model, "user")] = r
            print(f"{engine:5} {model:7} user  {r and f'{r:7.1f} MB/s' or 'failed'}",
                  flush=True)
    big = int(os.environ["BIG_MTU"])
    if big and "virtio" in models and "vmm" in engines:
        r = one("vmm", "virtio", "user", f"http://10.0.2.2:{srv.port}/blob", mtu=big)
        print(f"vmm   virtio  user  {r and f'{r:7.1f} MB/s' or 'failed'} (mtu {big}, announced "
              f"to the guest)", flush=True)
srv.close()
tap_why = ln.make_netns(NS) if "tap" in backends else "not asked for"
if tap_why:
    print(f"tap: skipped ({tap_why})", flush=True)
else:
    try:
        ln.sh(f"ip netns exec {NS} ip addr add 192.168.77.9/24 dev br0")
        server = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-m",
                                   "http.server", "--bind", "192.168.77.9", "8000"],
                                  cwd=www, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        qbin = shutil.which("qemu-system-x86_64")
        for name, target in (("vmm-in-netns", vmm), ("qemu-system-x86_64", qbin)):
            if target:
                with open(os.path.join(bindir, name), "w") as f:
                    f.write(f"#!/bin/sh\nexec ip netns exec {NS} {target} \"$@\"\n")
                os.chmod(os.path.join(bindir, name), 0o755)
        os.environ["PATH"] = bindir + ":" + os.environ["PATH"]
        time.sleep(1)
        for model in models:
            for engine in engines:
                r = one(engine, model, "tap", "http://192.168.77.9:8000/blob", "192.168.77.1",
                        os.path.join(bindir, "vmm-in-netns"))
                results[(engine, model, "tap")] = r
                print(f"{engine:5} {model:7} tap   {r and f'{r:7.1f} MB/s' or 'failed'}",
                      flush=True)
        server.kill()
        if os.environ["G2G"] == "1" and "vmm" in engines:
            w = os.path.join(bindir, "vmm-in-netns")
            a = ln.start_guest(w, gdir, initrd, [{"model": "e1000", "backend": "tap", "tap": "tapa",
                                                   "mac": "52:54:00:77:00:01"}],
                               "vmm", None, api=False, memory=512)
            b = ln.start_guest(w, gdir, initrd, [{"model": "virtio", "backend": "tap", "tap": "tapb",
                                                   "mac": "52:54:00:77:00:02", "queues": 2}],
                               "vmm", None, api=False, memory=768)
            try:
                for g, ip in ((a, "192.168.77.1"), (b, "192.168.77.2")):
                    g.wait_ready(timeout=1800)
                    ln.guest_up(g)
                    ln.grun(g, f"ip addr add {ip}/24 dev eth0")
                    ln.wait_carrier(g, 1)
                ln.grun(b, f"mkdir -p /www && dd if=/dev/urandom of=/www/big bs=1M "
                           f"count={min(size, 256)} 2>/dev/null && httpd -p 80 -h /www",
                        timeout=3600)
                dt = timed(a, "wget -q -O /dev/null http://192.168.77.2/big")
                g2g = min(size, 256) * 1.048576 / dt
                print(f"vmm   guest-to-guest virtio-net -> e1000 over the bridge: "
                      f"{g2g:7.1f} MB/s", flush=True)
            except GuestError as e:
                print(f"guest-to-guest: {e}", file=sys.stderr)
            a.close()
            b.close()
    finally:
        ln.sh(f"ip netns del {NS}", check=False)
print("ratios ours / QEMU TCG (>= 1: at least TCG's throughput):")
for (engine, model, backend), r in sorted(results.items()):
    q = results.get(("qemu", model, backend))
    if engine == "vmm" and r and q:
        print(f"  {model:7} {backend:5} {r / q:5.2f}  (ours {r:.1f} MB/s, TCG {q:.1f} MB/s)")
print(f"load average after: {load()}")
shutil.rmtree(work, ignore_errors=True)
PY
