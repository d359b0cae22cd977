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
export BIG_MTU=${BIG_MTU:-0}
set -- "$vmm"
case " $ENGINES " in *" qemu "*) set -- "$@" qemu-system-x86_64 ;; esac
for t in "$@"; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1 exec python3 - "$vmm" <<'PY'
import os, shutil, subprocess, sys, tempfile, time
import linux_net as ln
from guest_shell import GuestError

vmm = sys.argv[1]
gdir = os.environ["VMM_GUEST_DIR"]
size = int(os.environ["SIZE_MIB"])
repeat = int(os.environ["REPEAT"])
engines = os.environ["ENGINES"].split()
backends = os.environ["BACKENDS"].split()
models = os.environ["MODELS"].split()
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
    return ln.start_guest(wrapper or vmm, gdir, initrd, [nic], engine, None, qemu, api=False,
                          memory=memory)


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
        dt = timed(g, f"wget -q -O /dev/null {url}")
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
