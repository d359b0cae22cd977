#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile and malformed VMDK images (research/platform.md 1.9).

usage: hostile.py VMM_IMG [--write-corpus DIR]

Builds each image from scratch (a tiny sparse extent: 4 KiB grains, 8 grains, both
directories), runs `vmm-img info -f vmdk`, `convert` and `check` on it, and requires:
  reject  -> info exits 1 with a message naming the file or the problem,
  ioerr   -> opens, but reading the bad grain fails (convert exits 1),
  corrupt -> opens, check exits 2,
  ok      -> opens and converts,
and never a crash, a signal or a hang (every command runs under a timeout).
With --write-corpus, the single-file cases are also written to DIR (the fuzz seed corpus).
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

VMM_IMG = sys.argv[1]
FAILS = []
SEC = 512

DESC = ('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
        'createType="monolithicSparse"\n\n# Extent description\nRW 64 SPARSE "{name}"\n\n'
        '# The Disk Data Base\n#DDB\n\nddb.adapterType = "ide"\n')


def header(**kw):
    h = dict(magic=0x564d444b, version=1, flags=3, capacity=64, grain=8, desc_off=1,
             desc_size=4, gtes=512, rgd=5, gd=10, overhead=16, unclean=0,
             nl=b"\n \r\n", comp=0)
    h.update(kw)
    b = struct.pack("<IIIQQQQIQQQB4sH", h["magic"], h["version"], h["flags"], h["capacity"],
                    h["grain"], h["desc_off"], h["desc_size"], h["gtes"], h["rgd"], h["gd"],
                    h["overhead"], h["unclean"], h["nl"], h["comp"])
    return b + bytes(SEC - len(b))


def sparse(name="x.vmdk", desc=None, gte=None, hdr=None, grains=2, truncate=None):
    """header s0, descriptor s1-4, rGD s5, rGT s6-9, GD s10, GT s11-14, grains from s16."""
    img = bytearray(16 * SEC + grains * 8 * SEC)
    img[0:SEC] = hdr if hdr is not None else header()
    d = (desc if desc is not None else DESC.format(name=name)).encode()
    img[SEC:SEC + len(d)] = d
    gt = [16 + 8 * i for i in range(grains)] + [0] * (512 - grains)
    for k, v in (gte or {}).items():
        gt[k] = v
    for gd_sec, gt_sec in ((5, 6), (10, 11)):
        img[gd_sec * SEC:gd_sec * SEC + 4] = struct.pack("<I", gt_sec)
        img[gt_sec * SEC:gt_sec * SEC + 2048] = struct.pack("<512I", *gt)
    for i in range(grains):
        img[(16 + 8 * i) * SEC:(24 + 8 * i) * SEC] = bytes([0x40 + i]) * (8 * SEC)
    return bytes(img[:truncate] if truncate else img)


def stream(bad_deflate=False, bad_lba=False, no_footer=False):
    """VMware layout: GD_AT_END header, one compressed grain, GT/GD markers, footer, EOS."""
    h = dict(version=3, flags=0x30001, comp=1, gd=0xffffffffffffffff, rgd=0, overhead=8)
    out = bytearray(header(**h))
    d = DESC.format(name="s.vmdk").replace("monolithicSparse", "streamOptimized").encode()
    out += d + bytes(4 * SEC - len(d)) + bytes(3 * SEC)
    data = zlib.compress(b"\x5a" * 4096)
    if bad_deflate:
        data = data[:4] + b"\xff\xff\xff" + data[7:]
    rec = struct.pack("<QI", 99 if bad_lba else 0, len(data)) + data
    grain_sec = len(out) // SEC
    out += rec + bytes(-len(rec) % SEC)
    out += struct.pack("<QII", 4, 0, 1) + bytes(SEC - 16)  # GT marker
    gt_sec = len(out) // SEC
    out += struct.pack("<512I", grain_sec, *([0] * 511))
    out += struct.pack("<QII", 1, 0, 2) + bytes(SEC - 16)  # GD marker
    gd_sec = len(out) // SEC
    out += struct.pack("<I", gt_sec) + bytes(SEC - 4)
    if not no_footer:
        out += struct.pack("<QII", 1, 0, 3) + bytes(SEC - 16)
        h["gd"] = gd_sec
        out += header(**h)
    out += bytes(SEC)  # EOS
    return bytes(out)


def desc_file(extent_line, extra=""):
    return ('# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n'
            f'createType="monolithicFlat"\n{extra}\n# Extent description\n{extent_line}\n')


SINGLE = {  # name: (bytes, expectation)
    "ok-small.vmdk": (sparse("ok-small.vmdk"), "ok"),
    "ok-stream-vmware.vmdk": (stream(), "ok"),
    "bad-magic.vmdk": (sparse(hdr=header(magic=0x12345678)), "reject"),
    "version-4.vmdk": (sparse(hdr=header(version=4)), "reject"),
    "gd-past-eof.vmdk": (sparse(hdr=header(gd=100000, rgd=100000)), "reject"),
    "gte-past-eof.vmdk": (sparse(gte={1: 9000}), "ioerr"),
    "gte-shared.vmdk": (sparse(gte={1: 16}), "corrupt"),
    "gte-in-header.vmdk": (sparse(gte={1: 2}), "ioerr"),
    "gte-one-without-flag.vmdk": (sparse(gte={1: 1}), "ioerr"),
    "grain-size-3.vmdk": (sparse(hdr=header(grain=3)), "reject"),
    "grain-size-0.vmdk": (sparse(hdr=header(grain=0)), "reject"),
    "gtes-per-gt-0.vmdk": (sparse(hdr=header(gtes=0)), "reject"),
    "gtes-per-gt-1000.vmdk": (sparse(hdr=header(gtes=1000)), "reject"),
    "grain-size-1M-sectors.vmdk": (sparse(hdr=header(grain=1 << 20)), "reject"),
    "capacity-2-60.vmdk": (sparse(hdr=header(capacity=1 << 60)), "reject"),
    "desc-past-eof.vmdk": (sparse(hdr=header(desc_off=5000)), "reject"),
    "newline-altered.vmdk": (sparse(hdr=header(nl=b"\n \n\n")), "reject"),
    "extent-size-mismatch.vmdk": (sparse(desc=DESC.format(name="x").replace("RW 64", "RW 128")),
                                  "reject"),
    "truncated-half.vmdk": (sparse(truncate=12 * SEC), "reject"),
    "truncated-grain.vmdk": (sparse(truncate=20 * SEC), "ioerr"),
    "unterminated-quote.vmdk": (sparse(desc=DESC.format(name='x.vmdk').replace(
        'createType="monolithicSparse"', 'createType="monolithicSparse')), "reject"),
    "stream-bad-deflate.vmdk": (stream(bad_deflate=True), "ioerr"),
    "stream-bad-lba.vmdk": (stream(bad_lba=True), "ioerr"),
    "stream-no-footer.vmdk": (stream(no_footer=True), "reject"),
    "desc-only-garbage.vmdk": (desc_file('RW 8 WEIRD "x" 0').encode(), "reject"),
}


def run(args, timeout=20):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return p


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def expect(path, exp, tag):
    info = run([VMM_IMG, "info", "-f", "vmdk", path])
    conv = run([VMM_IMG, "convert", "-f", "vmdk", path, path + ".raw"])
    chk = run([VMM_IMG, "check", path])
    if info is None or conv is None or chk is None:
        check(False, f"{tag}: a command hung")
        return
    crashed = any(p.returncode < 0 or p.returncode > 64 for p in (info, conv, chk))
    check(not crashed, f"{tag}: no crash (rc {info.returncode}/{conv.returncode}/"
          f"{chk.returncode})")
    if exp == "reject":
        check(info.returncode == 1 and info.stderr.startswith("vmm-img: "),
              f"{tag}: refused: {info.stderr.strip()[:110]}")
    elif exp == "ioerr":
        check(info.returncode == 0 and conv.returncode == 1,
              f"{tag}: opens, read of the bad grain fails: {conv.stderr.strip()[:90]}")
    elif exp == "corrupt":
        check(info.returncode == 0 and chk.returncode == 2, f"{tag}: check reports corruption")
    else:
        check(info.returncode == 0 and conv.returncode == 0 and chk.returncode == 0,
              f"{tag}: opens, converts and checks clean")


def deep_parent(d):
    """`vmm-img create -b` of a parent deep in another folder: the child's descriptor carries
    the parent's whole absolute path as its hint (about 3.7 KiB here), which must be written
    in full and read back (the formatter once wrote past its buffer on a long hint)."""
    deep = os.path.join(d, "deep")
    for i in range(18):
        deep = os.path.join(deep, f"{i:02d}" + "p" * 198)
    os.makedirs(deep)
    base = os.path.join(deep, "base.vmdk")
    child = os.path.join(d, "child-of-deep.vmdk")
    r = run([VMM_IMG, "create", "-f", "vmdk", base, "1M"])
    check(r is not None and r.returncode == 0, "deep parent: base created")
    r = run([VMM_IMG, "create", "-f", "vmdk", "-b", base, child])
    check(r is not None and r.returncode == 0,
          f"deep parent: create -b of a {len(base)}-byte path "
          f"(rc {r.returncode if r else 'hung'}: {r.stderr.strip()[:80] if r else ''})")
    with open(child, "rb") as f:
        embedded = f.read(21 * SEC)
    check(f'parentFileNameHint="{base}"'.encode() in embedded,
          "deep parent: the whole path is in the child's descriptor")
    r = run([VMM_IMG, "info", "--allow-outside", child])
    check(r is not None and r.returncode == 0 and "base.vmdk" in r.stdout,
          f"deep parent: the child opens with its parent "
          f"({r.stderr.strip()[:80] if r else 'hung'})")
    r = run([VMM_IMG, "info", child])
    check(r is not None and r.returncode == 1 and r.stderr.startswith("vmm-img: parent"),
          "deep parent: without --allow-outside the absolute hint is refused")


def main():
    corpus = sys.argv[sys.argv.index("--write-corpus") + 1] if "--write-corpus" in sys.argv \
        else None
    with tempfile.TemporaryDirectory(prefix="vmdk-hostile-") as d:
        for name, (data, exp) in SINGLE.items():
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(data)
            if corpus:
                with open(os.path.join(corpus, name), "wb") as f:
                    f.write(data)
            expect(p, exp, name)
        # descriptor injection and confinement
        os.mkdir(f"{d}/sub")
        with open(f"{d}/secret", "wb") as f:
            f.write(b"S" * 4096)
        os.symlink(f"{d}/secret", f"{d}/sub/link")
        cases = {
            "abs.vmdk": desc_file('RW 8 FLAT "/etc/hostname" 0'),
            "dotdot.vmdk": desc_file('RW 8 FLAT "../secret" 0'),
            "symlink.vmdk": desc_file('RW 8 FLAT "link" 0'),
            "dev.vmdk": desc_file('RW 8 FLAT "/dev/zero" 0'),
            "parent-abs.vmdk": sparse("parent-abs.vmdk", desc=DESC.format(
                name="parent-abs.vmdk").replace("parentCID=ffffffff",
                                                'parentCID=1\nparentFileNameHint="/etc/passwd"')),
        }
        for name, data in cases.items():
            with open(f"{d}/sub/{name}", "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)
            expect(f"{d}/sub/{name}", "reject", f"confinement {name}")
        r = run([VMM_IMG, "info", "--allow-outside", f"{d}/sub/dotdot.vmdk"])
        check(r is not None and r.returncode == 0, "confinement: --allow-outside follows ../")
        # parent loops: a -> b -> a, and a delta naming itself
        for a, b in (("la.vmdk", "lb.vmdk"), ("self.vmdk", "self.vmdk")):
            for me, parent in ((a, b), (b, a)):
                desc = DESC.format(name=me).replace(
                    "CID=12345678\nparentCID=ffffffff",
                    f'CID=12345678\nparentCID=12345678\nparentFileNameHint="{parent}"')
                with open(f"{d}/{me}", "wb") as f:
                    f.write(sparse(me, desc=desc))
            r = run([VMM_IMG, "info", f"{d}/{a}"])
            check(r is not None and r.returncode == 1 and "loop" in r.stderr,
                  f"parent loop {a}: refused ({r.stderr.strip()[:80] if r else 'hung'})")
        deep_parent(d)
    print(f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)


main()
