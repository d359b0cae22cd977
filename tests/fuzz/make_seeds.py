#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz targets virtio_blk, virtio_pv, ahci, pci, fw_cfg, boot,
bt and snapshot.

Each seed is a small, meaningful input in the target's own format (the comment at the top of
tests/fuzz/fuzz_<target>.c describes it): a driver session that reads and writes, a command a
real driver sends, an enumeration a firmware does, a kernel image of each format, an
instruction of each kind. The output is deterministic and checked in under
tests/fuzz/corpus/<target>/; rerun this after changing a target's input format:

    tests/fuzz/make_seeds.py [TARGET...]

Inputs too slow to fuzz from (the virtio-blk index wrap: 65 792 chains) go to
tests/fuzz/slow/<target>/, which suite fuzz-smoke replays but the fuzzer is not given.
Seeds named crash-* in those folders are inputs that crashed once (docs/fuzzing.md); this
script never touches them. Only the Python standard library is needed (binutils' as/ld for
the multiboot ELF seeds when present).
"""
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return struct.pack('<B', v & 0xff)


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u24(v):
    return struct.pack('<I', v & 0xffffff)[:3]


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u48(v):
    return struct.pack('<Q', v & 0xffffffffffff)[:6]


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


def write_corpus(target, seeds, folder='corpus'):
    d = os.path.join(HERE, folder, target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if not name.startswith('crash-'):
            os.unlink(os.path.join(d, name))
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print(f'{target}: {len(seeds)} {"seeds" if folder == "corpus" else "slow inputs"}')


# ---------------------------------------------------------------- virtio-blk (fuzz_virtio_blk.c)

VB_MEM, VB_DESC, VB_POST, VB_AVAIL_IDX, VB_NOTIFY, VB_POLL, VB_REQUEST, VB_COMMON, VB_READ, \
    VB_MSIX, VB_CFG, VB_RESET, VB_RING, VB_DEFER = range(14)
VB_T = {'in': 0, 'out': 1, 'flush': 2, 'get_id': 3, 'discard': 4, 'wz': 5, 'bad': 6,
        'ffff': 7}
VB_INDIRECT, VB_LOOP, VB_NO_KICK, VB_WRONG, VB_NO_STAT = 1, 2, 4, 8, 16
VB_ALL = 0xffffffff
VB_F_INDIRECT, VB_F_EVENT_IDX = 1 << 28, 1 << 29


def vb_cfg(two=False, qsize=1, ro=False, intx=False, raw=False, repost=False):
    return u8((1 if two else 0) | (qsize << 1) | (8 if ro else 0) | (16 if intx else 0) |
              (32 if raw else 0) | (64 if repost else 0))


def vb_req(t, sector=0, length=512, segs=1, flags=0, q=0, seg_sectors=0, seg_flags=0,
           keep_sector=True):
    return (u8(VB_REQUEST) + u8(q) + u8(VB_T[t] | (8 if keep_sector else 0)) + u64(sector) +
            u16(length) + u8(segs - 1) + u8(flags) + u32(seg_sectors) + u32(seg_flags))


def vb_common(off, size_sel, val):
    return u8(VB_COMMON) + u8(off) + u8(size_sel) + u32(val)


def vb_mem(gpa, data):
    out = b''
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += u8(VB_MEM) + u24(gpa + i) + u8(len(chunk)) + chunk
    return out


def vb_wrap():
    """65536+ chains through a 256-entry queue: the available and used indexes wrap."""
    heads, table, hdr = 128, 0x9000, 0x9100
    desc = b''.join(u64(table) + u32(32) + u16(4) + u16(0) for _ in range(heads))
    ring = b''.join(u16(i % heads) for i in range(256))
    indirect = u64(hdr) + u32(16) + u16(1) + u16(1) + u64(hdr + 16) + u32(1) + u16(2) + u16(0)
    out = vb_cfg(qsize=3) + u32(VB_ALL)
    out += vb_mem(0x1000, desc) + vb_mem(0x2004, ring) + vb_mem(table, indirect)
    out += vb_mem(hdr, u32(2))  # an unknown request type: completed at once (UNSUPP)
    for r in range(1, 65536 // heads + 3):
        out += u8(VB_AVAIL_IDX) + u8(0) + u16(r * heads) + u8(VB_NOTIFY) + u8(0)
    return out


def vb_seeds():
    poll = u8(VB_POLL)
    h = vb_cfg(qsize=1) + u32(VB_ALL)
    s = {}
    s['read'] = h + vb_req('in', 0, 512) + poll
    s['write-read'] = h + vb_req('out', 4, 1024, 2) + poll + vb_req('in', 4, 1024, 3) + poll
    s['read-indirect'] = h + vb_req('in', 8, 2048, 4, VB_INDIRECT) + poll
    s['indirect-not-negotiated'] = (vb_cfg() + u32(VB_ALL & ~VB_F_INDIRECT) +
                                    vb_req('in', 0, 512, 1, VB_INDIRECT) + poll)
    s['flush-getid'] = h + vb_req('flush', 0, 0) + vb_req('get_id', 0, 20) + poll
    s['discard-wz'] = (h + vb_req('discard', 2, 0, seg_sectors=8) +
                       vb_req('wz', 16, 0, seg_sectors=4, seg_flags=1) + poll)
    s['discard-bad-flags'] = h + vb_req('discard', 2, 0, seg_sectors=8, seg_flags=3) + poll
    s['unknown-types'] = h + vb_req('bad') + vb_req('ffff') + poll
    s['beyond-capacity'] = (h + vb_req('in', 127, 1024) +
                            vb_req('out', 0xffffffffffffff, 512, keep_sector=False) + poll)
    s['loop-chain'] = h + vb_req('in', 0, 512, 2, VB_LOOP) + poll
    s['loop-indirect'] = h + vb_req('in', 0, 512, 2, VB_INDIRECT | VB_LOOP) + poll
    s['no-status'] = h + vb_req('in', 0, 512, 1, VB_NO_STAT) + poll
    s['wrong-direction'] = h + vb_req('in', 0, 512, 1, VB_WRONG) + vb_req('out', 0, 512, 1,
                                                                            VB_WRONG) + poll
    s['odd-length'] = h + vb_req('in', 0, 100) + vb_req('out', 0, 513, 2) + poll
    # Hostile avail index: the same head made available many times, ahead of the device.
    s['avail-ahead'] = (h + vb_req('in', 0, 512, 1, VB_NO_KICK) + u8(VB_AVAIL_IDX) + u8(0) +
                        u16(16) + u8(VB_NOTIFY) + u8(0) + poll)
    s['avail-too-far'] = h + u8(VB_AVAIL_IDX) + u8(0) + u16(17) + u8(VB_NOTIFY) + u8(0) + poll
    s['same-head-twice'] = (h + vb_req('in', 0, 512, 1, VB_NO_KICK) + u8(VB_POST) + u8(0) +
                            u16(0) + u8(VB_NOTIFY) + u8(0) + poll)
    # A descriptor outside RAM, a huge length, a next index out of range.
    s['desc-outside-ram'] = (h + u8(VB_DESC) + u8(0) + u16(0) + u64(0x7ffffffff000) + u32(512) +
                             u16(0) + u16(0) + u8(VB_POST) + u8(0) + u16(0) + u8(VB_NOTIFY) +
                             u8(0) + poll)
    s['desc-wraps'] = (h + u8(VB_DESC) + u8(0) + u16(0) + u64(0xfffffffffffffff0) + u32(0x100) +
                       u16(1) + u16(1) + u8(VB_POST) + u8(0) + u16(0) + u8(VB_NOTIFY) + u8(0))
    s['next-out-of-range'] = (h + u8(VB_DESC) + u8(0) + u16(0) + u64(0x9000) + u32(16) +
                              u16(1) + u16(200) + u8(VB_POST) + u8(0) + u16(0) +
                              u8(VB_NOTIFY) + u8(0))
    s['head-out-of-range'] = h + u8(VB_POST) + u8(0) + u16(999) + u8(VB_NOTIFY) + u8(0)
    two = vb_cfg(two=True, qsize=2) + u32(VB_ALL)
    s['two-queues-event-idx'] = (two + vb_req('in', 0, 512, q=0) + vb_req('out', 2, 512, q=1) +
                                 u8(VB_RING) + u8(1) + u16(0) + u16(0) + poll +
                                 vb_req('in', 2, 512, q=1) + u8(VB_RING) + u8(0) + u16(1) +
                                 u16(5) + poll)
    s['no-interrupt-flag'] = (vb_cfg(qsize=1) + u32(VB_ALL & ~VB_F_EVENT_IDX) + u8(VB_RING) +
                              u8(0) + u16(1) + u16(0) + vb_req('in') + poll)
    # The interrupt handler re-posts every completion: the ring never reads empty, the round
    # is cut at a queue's worth and the main loop resumes it.
    s['deferred-round'] = (vb_cfg(qsize=0, repost=True) + u32(VB_ALL & ~VB_F_EVENT_IDX) +
                           vb_req('bad', 0, 0, 1, VB_INDIRECT) + u8(VB_DEFER) * 5 + poll)
    s['notify-bad-queue'] = h + u8(VB_NOTIFY) + u8(7) + u8(VB_NOTIFY) + u8(0xff)
    # Reset, queue changes and BAR moves while a request is in flight.
    s['reset-in-flight'] = (h + vb_req('in', 0, 4096, 4) + vb_common(0x14, 0, 0) + poll +
                            vb_req('in') + poll)
    s['system-reset-in-flight'] = h + vb_req('out', 0, 4096) + u8(VB_RESET) + poll
    s['queue-disable-in-flight'] = (h + vb_req('in') + vb_common(0x16, 1, 0) +
                                    vb_common(0x18, 1, 8) + vb_common(0x20, 2, 0x30000) + poll)
    s['bar-move-in-flight'] = (h + vb_req('in') + u8(VB_CFG) + u8(0x20) + u8(2) +
                               u32(0xd0000000) + poll + u8(VB_NOTIFY) + u8(0))
    s['memory-off'] = h + u8(VB_CFG) + u8(4) + u8(1) + u32(0) + vb_req('in') + poll
    s['readonly-write'] = (vb_cfg(ro=True) + u32(VB_ALL) + vb_req('out') +
                           vb_req('discard', seg_sectors=1) + poll)
    s['intx-isr'] = (vb_cfg(intx=True) + u32(VB_ALL) + vb_req('in') + poll + u8(VB_READ) +
                     u16(0x1000) + u8(0))
    s['msix-mask-unmask'] = (h + u8(VB_MSIX) + u16(0x1c) + u32(1) + vb_req('in') + poll +
                             u8(VB_MSIX) + u16(0x1c) + u32(0) + u8(VB_READ) + u16(0x800) + u8(2))
    s['config-reads'] = h + b''.join(u8(VB_READ) + u16(0x2000 + o) + u8(sz)
                                     for o, sz in ((0, 3), (8, 2), (0x14, 2), (0x22, 1),
                                                   (0x3a, 2), (0x3c, 2)))
    s['features-refused'] = vb_cfg() + u32(0) + vb_common(0x14, 0, 0x0b) + vb_req('in') + poll
    # No driver set-up: the program does it through the common configuration registers.
    raw = vb_cfg(qsize=1, raw=True) + u32(0)
    s['raw-setup'] = (raw + vb_common(0x14, 0, 3) + vb_common(0x08, 2, 1) +
                      vb_common(0x0c, 2, 1) + vb_common(0x14, 0, 11) + vb_common(0x16, 1, 0) +
                      vb_common(0x20, 2, 0x1000) + vb_common(0x28, 2, 0x2000) +
                      vb_common(0x30, 2, 0x2400) + vb_common(0x1c, 1, 1) +
                      vb_common(0x14, 0, 15) + vb_req('in') + poll)
    s['raw-bad-queue-size'] = (raw + vb_common(0x16, 1, 0) + vb_common(0x18, 1, 3) +
                               vb_common(0x1c, 1, 1) + vb_common(0x14, 0, 15) +
                               u8(VB_NOTIFY) + u8(0))
    s['mem-ops'] = (h + u8(VB_MEM) + u24(0x2000) + u8(4) + b'\x00\x00\x05\x00' +
                    u8(VB_NOTIFY) + u8(0) + poll)
    return s


# ---------------------------------------------------------------------- AHCI (fuzz_ahci.c)

AH_MEM, AH_WRITE, AH_READ, AH_COMMAND, AH_POLL, AH_CFG, AH_RESET, AH_RESTART = range(8)
AH_CMDS = ['identify', 'identify_packet', 'read_dma_ext', 'write_dma_ext', 'read_dma',
           'write_dma', 'read_fpdma', 'write_fpdma', 'flush', 'flush_ext', 'dsm',
           'set_features', 'read_log_ext', 'set_multiple', 'read_verify', 'read_verify_ext',
           'packet', 'standby', 'idle', 'check_power', 'device_reset']
AH_PKTS = ['test_unit_ready', 'request_sense', 'inquiry', 'start_stop', 'prevent_allow',
           'read_capacity', 'read_10', 'read_toc', 'get_configuration', 'get_event_status',
           'mode_sense_10', 'read_12', 'set_cd_speed']
AH_ATAPI, AH_WRITE_BIT, AH_CONTROL, AH_D2H, AH_SHORT_CFL = 1, 2, 0x10, 0x20, 0x40


def ah_cmd(cmd, port=0, slot=0, hflags=0, lba=0, count=0, features=0, device=0x40,
           control=0, nprd=1, prd_bytes=512, cdb=b''):
    if isinstance(cmd, str):
        sel = u8(AH_CMDS.index(cmd))
    else:
        sel = u8(0xff) + u8(cmd)
    if prd_bytes:
        prd_bytes -= 1
    if cdb and isinstance(cdb[0], str):
        cdb = bytes([0x80 + AH_PKTS.index(cdb[0])]) + bytes(cdb[1:])
    cdb = bytes(cdb) + bytes(12 - len(cdb))
    return (u8(AH_COMMAND) + u8(port) + u8(slot) + sel + u8(hflags) + u48(lba) + u16(count) +
            u16(features) + u8(device) + u8(control) + u8(nprd) + u32(prd_bytes) + cdb)


def ah_pkt(op, *rest, slot=0, prd_bytes=256, features=1):
    return ah_cmd('packet', port=1, slot=slot, hflags=AH_ATAPI, features=features,
                  prd_bytes=prd_bytes, cdb=[op] + list(rest))


def ah_write(off, val):
    return u8(AH_WRITE) + u16(off) + u32(val)


def ah_port(p, reg):
    return 0x100 + p * 0x80 + reg


def ahci_seeds():
    poll = u8(AH_POLL) * 3  # a non-queued command waiting behind another starts on a poll
    h = u8(0)
    s = {}
    s['identify'] = h + ah_cmd('identify') + poll
    s['read-dma-ext'] = h + ah_cmd('read_dma_ext', lba=0, count=8, prd_bytes=4096) + poll
    s['write-read'] = (h + ah_cmd('write_dma_ext', lba=4, count=2, hflags=AH_WRITE_BIT,
                                  prd_bytes=1024) + poll +
                       ah_cmd('read_dma', slot=1, lba=4, count=2, nprd=2, prd_bytes=512) + poll)
    s['ncq'] = (h + ah_cmd('read_fpdma', slot=3, lba=0, count=3 << 3, features=4,
                           prd_bytes=2048) +
                ah_cmd('write_fpdma', slot=5, lba=16, count=5 << 3, features=2,
                       hflags=AH_WRITE_BIT, prd_bytes=1024) + poll)
    s['ncq-error-log'] = (h + ah_cmd('read_fpdma', slot=1, lba=1000, count=1 << 3, features=1) +
                          poll + ah_write(ah_port(0, 0x18), 0x16) +
                          ah_write(ah_port(0, 0x18), 0x17) +
                          ah_cmd('read_log_ext', lba=0x10, count=1) + poll)
    s['read-log-directory'] = h + ah_cmd('read_log_ext', lba=0, count=1) + poll
    s['trim'] = (h + u8(AH_MEM) + u24(0x10000) + u8(16) + u48(8) + u16(8) + u48(100) + u16(4) +
                 ah_cmd('dsm', features=1, count=1, prd_bytes=512) + poll)
    s['flush-features'] = (h + ah_cmd('flush') + ah_cmd('flush_ext', slot=1) +
                           ah_cmd('set_features', slot=2, features=0x82) +
                           ah_cmd('set_features', slot=3, features=0x03, count=0x45) +
                           ah_cmd('write_dma', slot=5, lba=1, count=1, hflags=AH_WRITE_BIT) +
                           poll + poll + ah_cmd('set_features', slot=4, features=0x99))
    s['misc-commands'] = (h + ah_cmd('set_multiple', count=8) +
                          ah_cmd('read_verify', slot=2, lba=5, count=4) +
                          ah_cmd('check_power', slot=4) + ah_cmd('standby', slot=5) +
                          ah_cmd('idle', slot=6) + ah_cmd('device_reset', slot=7) + poll +
                          ah_cmd('read_verify_ext', slot=3, lba=1 << 40, count=0) +
                          u8(AH_RESTART) + u8(0) + ah_cmd('set_multiple', slot=1, count=3) +
                          u8(AH_RESTART) + u8(0) + ah_cmd(0x20, slot=8) + poll)
    s['beyond-disk'] = (h + ah_cmd('read_dma_ext', lba=127, count=2) +
                        ah_cmd('read_dma', slot=1, lba=0, count=0, prd_bytes=0x400000) + poll)
    s['prdt-short'] = h + ah_cmd('read_dma_ext', lba=0, count=4, prd_bytes=512) + poll
    s['prdt-outside-ram'] = (h + u8(AH_COMMAND) + u8(0) + u8(0) + u8(2) + u8(0) + u48(0) +
                             u16(1) + u16(0) + u8(0x40) + u8(0) + u8(1) + u32(511) + bytes(12) +
                             u8(AH_MEM) + u24(0x8080) + u8(8) + u64(0x7fff0000) +
                             ah_write(ah_port(0, 0x38), 1) + poll)
    s['ctba-outside-ram'] = (h + u8(AH_MEM) + u24(0x1000) + u8(16) + u32(5 | 1 << 16) + u32(0) +
                             u64(0x90000000) + ah_write(ah_port(0, 0x38), 1) + poll)
    s['empty-port'] = h + ah_cmd('identify', port=2) + poll
    s['not-h2d-fis'] = (h + ah_cmd('identify', hflags=AH_D2H) +
                        ah_cmd('identify', port=1, hflags=AH_SHORT_CFL) + poll)
    s['soft-reset'] = (h + ah_cmd('identify', hflags=AH_CONTROL, control=4) +
                       ah_cmd('identify', slot=1, hflags=AH_CONTROL, control=0) + poll)
    s['comreset'] = (h + ah_cmd('read_dma_ext', count=8, prd_bytes=4096) +
                     ah_write(ah_port(0, 0x2c), 1) + ah_write(ah_port(0, 0x2c), 0) + poll +
                     ah_cmd('identify', slot=2) + poll)
    s['restart-in-flight'] = (h + ah_cmd('read_dma_ext', count=8, prd_bytes=4096) +
                              u8(AH_RESTART) + u8(0) +
                              ah_cmd('read_dma_ext', count=8, prd_bytes=4096) + u8(AH_RESTART) +
                              u8(0) + ah_cmd('read_dma_ext', count=8, prd_bytes=4096) + poll)
    s['hba-reset-in-flight'] = (h + ah_cmd('write_dma_ext', count=8, hflags=AH_WRITE_BIT,
                                           prd_bytes=4096) +
                                ah_write(0x04, 1) + poll + u8(AH_RESET) + poll)
    s['clo-and-stop'] = (h + ah_cmd('identify') + ah_write(ah_port(0, 0x18), 0x18) +
                         ah_write(ah_port(0, 0x18), 0x19) + poll)
    s['registers'] = (h + b''.join(u8(AH_READ) + u16(o) for o in
                                   (0, 4, 8, 0xc, 0x10, 0x24, 0x100, 0x120, 0x124, 0x128, 0x12c,
                                    0x134, 0x138, 0x13c, 0x1a4)) +
                      ah_write(0x0c, 0) + ah_write(0x08, ~0) + ah_write(0x40, 5) +
                      ah_write(ah_port(0, 0x40), 1) + ah_write(ah_port(0, 0x3c), ~0) +
                      ah_write(ah_port(1, 0x30), ~0) + ah_write(ah_port(0, 0x14), 0))
    s['msi'] = u8(2) + ah_cmd('identify') + poll + ah_write(ah_port(0, 0x10), ~0)
    s['readonly-disk'] = (u8(4) + ah_cmd('write_dma_ext', count=1, hflags=AH_WRITE_BIT) +
                          ah_cmd('write_fpdma', slot=1, count=1 << 3, features=1,
                                 hflags=AH_WRITE_BIT) + poll)
    # No set-up: the program programs the port itself.
    s['raw-setup'] = (u8(1) + ah_write(0x04, 0x80000002) + ah_write(ah_port(0, 0x00), 0x1000) +
                      ah_write(ah_port(0, 0x08), 0x2000) + ah_write(ah_port(0, 0x14), ~0) +
                      ah_write(ah_port(0, 0x18), 0x17) + ah_cmd('identify') + poll)
    s['command-list-high'] = (h + ah_write(ah_port(0, 0x04), 1) + ah_cmd('identify') + poll +
                              ah_write(ah_port(0, 0x0c), 1) + ah_cmd('identify', slot=1))
    s['pci-bar-move'] = (h + ah_cmd('read_dma_ext', count=8, prd_bytes=4096) + u8(AH_CFG) +
                         u8(0x24) + u8(2) + u32(0xfebe0000) + poll + u8(AH_CFG) + u8(0x04) +
                         u8(1) + u32(0x0400))
    # ATAPI: the first medium access after power-on reports UNIT ATTENTION (and the port
    # stops until software restarts it); REQUEST SENSE clears it.
    ua = (ah_pkt('test_unit_ready', slot=31) + u8(AH_RESTART) + u8(1) +
          ah_pkt('request_sense', 0, 0, 0, 18, slot=30) + poll)
    s['atapi-inquiry'] = h + ah_pkt('inquiry', 0, 0, 0, 96) + ua + ah_pkt('inquiry', 1, 0x80,
                                                                        0, 96) + poll
    s['atapi-unit-attention'] = h + ua + ah_pkt('test_unit_ready', slot=2) + poll
    s['atapi-read'] = (h + ua + ah_pkt('read_capacity', prd_bytes=8) +
                       ah_pkt('read_10', 0, 0, 0, 0, 2, 0, 0, 2, slot=1, prd_bytes=4096) +
                       ah_pkt('read_12', 0, 0, 0, 0, 19, 0, 0, 0, 1, slot=2, prd_bytes=2048) +
                       poll)
    s['atapi-read-beyond'] = (h + ua +
                              ah_pkt('read_10', 0, 0, 0, 0, 19, 0, 0, 4, prd_bytes=8192) + poll +
                              u8(AH_RESTART) + u8(1) +
                              ah_pkt('read_12', 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, slot=1) + poll)
    s['atapi-toc-config'] = (h + ua + ah_pkt('read_toc', 0, 0, 0, 0, 0, 0, 0, 0x40) +
                             ah_pkt('read_toc', 2, 1, 0, 0, 0, 0, 0, 0xff, slot=1) +
                             ah_pkt('get_configuration', 0, 0, 0, 0, 0, 0, 0, 0xff, slot=2) +
                             ah_pkt('get_event_status', 1, 0, 0, 0x10, 0, 0, 0, 8, slot=3) +
                             ah_pkt('mode_sense_10', 0, 0x2a, 0, 0, 0, 0, 0, 0xff, slot=4) +
                             ah_pkt('mode_sense_10', 0, 0x3f, 0, 0, 0, 0, 0, 0xff, slot=5) +
                             ah_pkt('read_toc', 0, 0, 0, 0, 0, 0, 0, 0xff, 0x80, slot=6) +
                             poll)
    s['atapi-misc'] = (h + ua + ah_pkt('prevent_allow', 0, 0, 0, 1, slot=1) +
                       ah_pkt('set_cd_speed', 0, 0xff, 0xff, slot=3) +
                       ah_pkt(0x12, 1, 0x80, 0, 0xff, slot=5) + poll +
                       ah_pkt('start_stop', 0, 0, 0, 2, slot=2) + poll + u8(AH_RESTART) + u8(1) +
                       ah_pkt('prevent_allow', 0, 0, 0, 0, slot=1) +
                       ah_pkt('start_stop', 0, 0, 0, 2, slot=2) +
                       ah_pkt('test_unit_ready', slot=6) + poll + u8(AH_RESTART) + u8(1) +
                       ah_pkt('start_stop', 0, 0, 0, 3, slot=2) +
                       ah_pkt('get_event_status', 1, 0, 0, 0x10, 0, 0, 0, 8, slot=3) +
                       ah_pkt(0xff, slot=4) + poll)
    s['atapi-pio-dma'] = (h + ua + ah_pkt('inquiry', 0, 0, 0, 36, features=0) +
                          ah_pkt('read_10', 0, 0, 0, 0, 0, 0, 0, 1, slot=1, features=0,
                                 prd_bytes=2048) + poll)
    s['atapi-short-prdt'] = (h + ua + ah_pkt('read_10', 0, 0, 0, 0, 0, 0, 0, 2, prd_bytes=2048) +
                             poll)
    s['atapi-no-prd'] = h + ah_cmd('packet', port=1, hflags=AH_ATAPI, nprd=0, cdb=[0x80 + 2,
                                                                                   0, 0, 0, 96])
    s['atapi-identify-ata'] = (h + ah_cmd('identify_packet', port=1) +
                               ah_cmd('identify', port=1, slot=1) + poll)
    s['atapi-on-disk'] = (h + ah_cmd('packet', port=0, hflags=AH_ATAPI,
                                     cdb=[0x80 + 2, 0, 0, 0, 96]) + poll)
    return s


# ------------------------------------------------------------------------ PCI (fuzz_pci.c)

PC_PIO, PC_CFG, PC_SIZE, PC_MMIO, PC_RESET = range(5)
PC_DEVS = {'i440fx': 0, 'piix3': 1, 'virtio': 2, 'ahci': 3, 'probe': 4}


def pc_cfg(dev, off, size_sel, val=0, read=False):
    sel = PC_DEVS[dev] if isinstance(dev, str) else 0x80 | dev
    return u8(PC_CFG) + u8(sel) + u8(off) + u8(size_sel) + u32(val) + u8(1 if read else 0)


def pc_pio(port_sel, size_sel, val=0, read=False, port=None):
    if port is not None:
        return u8(PC_PIO) + u8(0x80) + u16(port) + u8(size_sel) + u32(val) + u8(read)
    return u8(PC_PIO) + u8(port_sel) + u8(size_sel) + u32(val) + u8(1 if read else 0)


def pc_mmio(window, off, size_sel, val=0, read=False):
    return u8(PC_MMIO) + u8(window) + u32(off) + u8(size_sel) + u32(val) + u8(1 if read else 0)


def pc_size(dev, bar):
    return u8(PC_SIZE) + u8(PC_DEVS[dev]) + u8(bar)


def pci_seeds():
    s = {}
    # What a firmware does: identify every function, size every BAR, assign, enable.
    enum = b''.join(pc_cfg(d, 0, 2, read=True) + pc_cfg(d, 0x0e, 0, read=True)
                    for d in PC_DEVS)
    enum += b''.join(pc_size(d, b) for d in ('virtio', 'ahci', 'probe') for b in range(6))
    assign = (pc_cfg('virtio', 0x14, 2, 0xe0100000) + pc_cfg('virtio', 0x20, 2, 0xe0000000) +
              pc_cfg('virtio', 0x24, 2, 0) + pc_cfg('ahci', 0x24, 2, 0xfebf0000) +
              pc_cfg('probe', 0x10, 2, 0xc001) + pc_cfg('probe', 0x14, 2, 0xe0200000) +
              pc_cfg('probe', 0x18, 2, 0xe0400000) + pc_cfg('probe', 0x1c, 2, 1) +
              pc_cfg('probe', 0x20, 2, 0xc041) + pc_cfg('probe', 0x24, 2, 0x80000000))
    enable = b''.join(pc_cfg(d, 4, 1, 7) for d in ('virtio', 'ahci', 'probe'))
    s['enumerate'] = enum + assign + enable
    s['enumerate-access'] = (enum + assign + enable + pc_mmio(0, 0x14, 0, read=True) +
                             pc_mmio(1, 0, 2, read=True) + pc_mmio(2, 0, 3, 5) +
                             pc_pio(0, 0, port=0xc000, read=True) +
                             pc_mmio(4, 0x400000, 3, read=True))
    s['bar-overlap'] = (enum + assign + enable + pc_cfg('probe', 0x14, 2, 0xe0000000) +
                        pc_cfg('ahci', 0x24, 2, 0xe0001000) + pc_cfg('virtio', 0x20, 2,
                                                                     0xfebf0000))
    s['bar-move-while-enabled'] = (assign + enable + pc_cfg('virtio', 0x20, 2, 0xe0008000) +
                                   pc_cfg('virtio', 0x24, 2, 0x1) +
                                   pc_cfg('probe', 0x18, 2, 0xfff00000) +
                                   pc_cfg('probe', 0x1c, 2, 0xffffffff) +
                                   pc_cfg('probe', 0x10, 2, 0xffe1) +
                                   pc_cfg('probe', 0x14, 2, 0xfffff000))
    s['bar-byte-writes'] = (enable + b''.join(pc_cfg('probe', 0x14 + i, 0, v) for i, v in
                                              enumerate((0x00, 0x10, 0x20, 0xe0))) +
                            pc_cfg('probe', 0x16, 1, 0xffff) + pc_cfg('probe', 0x11, 0, 0xc0))
    s['command-toggle'] = (assign + enable + pc_cfg('probe', 4, 1, 0) + pc_cfg('probe', 4, 1, 1) +
                           pc_cfg('probe', 4, 1, 2) + pc_cfg('probe', 4, 0, 0x407) +
                           pc_cfg('ahci', 4, 1, 0x400) + pc_cfg('virtio', 4, 2, 0xffffffff))
    s['status-w1c'] = pc_cfg('probe', 6, 1, 0xffff) + pc_cfg('ahci', 4, 2, 0xffffffff)
    s['capabilities'] = (pc_cfg('virtio', 0x34, 0, read=True) + pc_cfg('virtio', 0x40, 2,
                                                                       0xffffffff) +
                         pc_cfg('ahci', 0x80, 2, 0xffffffff) + pc_cfg('probe', 0x40, 2,
                                                                      0xffffffff) +
                         pc_cfg('probe', 0x42, 1, 0x1) + pc_cfg('virtio', 0xfe, 1, 0xffff))
    # virtio's PCI configuration access capability (4.1.4.9): a window onto BAR 4.
    s['virtio-cfg-window'] = (pc_cfg('virtio', 0x34, 0, read=True) +
                              b''.join(pc_cfg('virtio', 0x40 + 4 * i, 2, read=True)
                                       for i in range(24)) +
                              pc_cfg('virtio', 0x80, 2, 4) + pc_cfg('virtio', 0x88, 2, 0x14) +
                              pc_cfg('virtio', 0x8c, 2, 1) + pc_cfg('virtio', 0x90, 2, 1) +
                              pc_cfg('virtio', 0x90, 2, read=True))
    s['msix-enable'] = (assign + enable + pc_cfg('virtio', 0x62, 1, 0xc000) +
                        pc_mmio(0, 0x100000 + 12, 2, 0) + pc_cfg('virtio', 0x62, 1, 0x8000))
    s['piix-registers'] = (b''.join(pc_cfg('piix3', 0x60 + i, 0, v) for i, v in
                                    enumerate((10, 11, 0x80, 5))) +
                           pc_cfg('i440fx', 0x59, 2, 0x33333333) +
                           pc_cfg('piix3', 0xff, 0, 1) + pc_cfg('i440fx', 0xfc, 2, ~0))
    s['config-address'] = (pc_pio(0, 2, 0x80001800) + pc_pio(4, 2, read=True) +
                           pc_pio(5, 0, read=True) + pc_pio(6, 1, read=True) +
                           pc_pio(0, 1, 0x1234) + pc_pio(2, 0, 0x12) + pc_pio(0, 2, 0x8001ff00) +
                           pc_pio(4, 2, read=True) + pc_pio(0, 2, 0x00001800) +
                           pc_pio(4, 2, 0xffffffff) + pc_pio(0, 2, 0x80fff8fc) +
                           pc_pio(7, 0, 0x55))
    s['reset-control'] = (pc_pio(1, 0, read=True) + pc_pio(1, 0, 0x02) + pc_pio(1, 0, 0x06) +
                          pc_pio(1, 1, 0x06) + pc_pio(1, 0, 0x0e))
    s['reset-all'] = assign + enable + u8(PC_RESET) + enable + pc_mmio(1, 0, 2, read=True)
    s['other-ports'] = (pc_pio(0, 0, port=0x80, read=True) + pc_pio(0, 2, 5, port=0xcfc) +
                        pc_pio(0, 1, 5, port=0xffff))
    s['absent-functions'] = (pc_cfg(0x30, 0, 2, read=True) + pc_cfg(0x7f, 0x10, 2, ~0) +
                             pc_cfg(0x09, 0, 2, read=True))
    return s


# ----------------------------------------------------------------------- boot (fuzz_boot.c)

BOOT_LINUX, BOOT_MULTIBOOT, BOOT_FLAT, BOOT_FIRMWARE = range(4)
SEL_UNPACK, SEL_EXTRA, SEL_SPLIT, SEL_NO_CMD, SEL_BIG = 4, 8, 16, 32, 64


def boot_input(kind, sel=0, mods=0, cmdline=16, load=0, data=b''):
    return u8(kind | sel) + u8(mods) + u16(cmdline) + u24(load) + data


def vmlinux(entry=0x1000000, segs=((0x1000000, 0x400, 0x2000), (0x1200000, 0x100, 0x100))):
    """A tiny x86-64 ELF with PT_LOAD segments (paddr, filesz, memsz), vaddr at -2 GiB."""
    phoff, n = 64, len(segs)
    off = phoff + 56 * n
    eh = (b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8) + u16(2) + u16(62) + u32(1) +
          u64(0xffffffff80000000 + entry - 0x1000000) + u64(phoff) + u64(0) + u32(0) + u16(64) +
          u16(56) + u16(n) + u16(64) + u16(0) + u16(0))
    ph, body = b'', b''
    for paddr, filesz, memsz in segs:
        ph += (u32(1) + u32(7) + u64(off + len(body)) + u64(0xffffffff80000000 + paddr -
                                                              0x1000000) +
               u64(paddr) + u64(filesz) + u64(memsz) + u64(0x1000))
        body += bytes((i * 7) & 0xff for i in range(filesz))
    return eh + ph + body


def lz4_literals(data):
    """An LZ4 legacy frame whose blocks are literal runs only (the bytes appear as they are)."""
    out = u32(0x184c2102)
    for i in range(0, len(data), 0x10000):
        chunk = data[i:i + 0x10000]
        n = len(chunk)
        blk = bytearray([0xf0 if n >= 15 else n << 4])
        if n >= 15:
            left = n - 15
            while left >= 255:
                blk.append(255)
                left -= 255
            blk.append(left)
        blk += chunk
        out += u32(len(blk)) + bytes(blk)
    return out


def bzimage(payload=b'', version=0x020f, pref=0x1000000, init_size=0x400000, relocatable=1,
            align=0x200000, xlf=1, loadflags=1, setup_sects=1, cmdline_size=2048,
            initrd_max=0x7fffffff, pm_extra=0x200):
    hdr = bytearray(512 * (setup_sects + 1))
    hdr[0x1f1] = setup_sects
    hdr[0x1fe:0x200] = u16(0xaa55)
    hdr[0x200] = 0xeb
    hdr[0x201] = 0x66  # header up to 0x268
    hdr[0x202:0x206] = b'HdrS'
    hdr[0x206:0x208] = u16(version)
    hdr[0x211] = loadflags
    hdr[0x22c:0x230] = u32(initrd_max)
    hdr[0x230:0x234] = u32(align)
    hdr[0x234] = relocatable
    hdr[0x236:0x238] = u16(xlf)
    hdr[0x238:0x23c] = u32(cmdline_size)
    pm = bytearray(pm_extra) + payload
    if payload:
        hdr[0x248:0x24c] = u32(pm_extra)
        hdr[0x24c:0x250] = u32(len(payload))
    hdr[0x258:0x260] = u64(pref)
    hdr[0x260:0x264] = u32(init_size)
    return bytes(hdr) + bytes(pm)


def with_size(compressed, raw):
    return compressed + u32(len(raw))


def multiboot_aout(flags=0x00010003, load=0x100000, entry=0x100020, load_end=0, bss_end=0,
                   size=0x200, header=None):
    header = load if header is None else header
    h = (u32(0x1badb002) + u32(flags) + u32(-(0x1badb002 + flags)) + u32(header) + u32(load) +
         u32(load_end) + u32(bss_end) + u32(entry))
    return h + bytes([0xf4, 0xeb, 0xfd]) + bytes(size - len(h) - 3)


def multiboot_elf(bits, paddr=0x100000, vaddr=None, entry=None, extra_phdr=None):
    """A multiboot ELF32/64 made by hand: one PT_LOAD with the header in it."""
    vaddr = paddr if vaddr is None else vaddr
    entry = vaddr + 0x20 if entry is None else entry
    mbh = u32(0x1badb002) + u32(3) + u32(-(0x1badb002 + 3))
    code = mbh + bytes(0x20 - len(mbh)) + bytes([0xfa, 0xf4, 0xeb, 0xfd])
    phdrs = [(1, 0x1000, vaddr, paddr, len(code), len(code) + 0x4000)]
    if extra_phdr:
        phdrs.append(extra_phdr)
    if bits == 32:
        eh = (b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8) + u16(2) + u16(3) + u32(1) +
              u32(entry) + u32(52) + u32(0) + u32(0) + u16(52) + u16(32) + u16(len(phdrs)) +
              u16(40) + u16(0) + u16(0))
        ph = b''.join(u32(t) + u32(o) + u32(v) + u32(p) + u32(fs) + u32(ms) + u32(7) + u32(4)
                      for t, o, v, p, fs, ms in phdrs)
    else:
        eh = (b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8) + u16(2) + u16(62) + u32(1) +
              u64(entry) + u64(64) + u64(0) + u32(0) + u16(64) + u16(56) + u16(len(phdrs)) +
              u16(64) + u16(0) + u16(0))
        ph = b''.join(u32(t) + u32(7) + u64(o) + u64(v) + u64(p) + u64(fs) + u64(ms) + u64(8)
                      for t, o, v, p, fs, ms in phdrs)
    img = bytearray(0x1000) + code
    img[:len(eh + ph)] = eh + ph
    return bytes(img)


def binutils_multiboot():
    """The unit tests' multiboot kernels (tests/unit/boot/mb32.S, mb64.S), if as/ld exist."""
    out = {}
    if not (shutil.which('as') and shutil.which('ld')):
        return out
    unit = os.path.join(HERE, '..', 'unit', 'boot')
    with tempfile.TemporaryDirectory() as tmp:
        for name, asflag, emul, text in (('mb32', '--32', 'elf_i386', '0x100000'),
                                         ('mb64', '--64', 'elf_x86_64', '0x200000')):
            obj, elf = os.path.join(tmp, name + '.o'), os.path.join(tmp, name + '.elf')
            try:
                subprocess.run(['as', asflag, os.path.join(unit, name + '.S'), '-o', obj],
                               check=True)
                subprocess.run(['ld', '-m', emul, '-N', '-e', '_start', '-Ttext=' + text,
                                '--no-warn-rwx-segments', '-s', '-o', elf, obj], check=True)
            except (OSError, subprocess.CalledProcessError):
                return {}
            with open(elf, 'rb') as f:
                out[name] = f.read()
    return out


def boot_seeds():
    s = {}
    elf = vmlinux()
    lz4 = with_size(lz4_literals(elf), elf)
    gz = with_size(gzip.compress(elf, mtime=0), elf)
    xz = with_size(lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32), elf)
    s['linux-plain'] = boot_input(BOOT_LINUX, data=bzimage())
    s['linux-initrd'] = boot_input(BOOT_LINUX, SEL_EXTRA, data=bzimage())
    s['linux-initrd-big-split'] = boot_input(BOOT_LINUX, SEL_EXTRA | SEL_BIG | SEL_SPLIT,
                                             data=bzimage())
    s['linux-lz4'] = boot_input(BOOT_LINUX, SEL_UNPACK, data=bzimage(lz4))
    s['linux-lz4-split'] = boot_input(BOOT_LINUX, SEL_UNPACK | SEL_SPLIT | SEL_EXTRA,
                                      data=bzimage(lz4))
    s['linux-gzip'] = boot_input(BOOT_LINUX, SEL_UNPACK, data=bzimage(gz))
    s['linux-xz'] = boot_input(BOOT_LINUX, SEL_UNPACK, data=bzimage(xz))
    s['linux-payload-unknown'] = boot_input(BOOT_LINUX, SEL_UNPACK,
                                            data=bzimage(b'BZh9' + bytes(60) + u32(4096)))
    s['linux-payload-no-unpack'] = boot_input(BOOT_LINUX, 0, data=bzimage(lz4))
    s['linux-elf-outside'] = boot_input(
        BOOT_LINUX, SEL_UNPACK,
        data=bzimage(with_size(lz4_literals(vmlinux(segs=((0x9000000, 16, 16),))),
                               vmlinux(segs=((0x9000000, 16, 16),)))))
    s['linux-not-relocatable'] = boot_input(BOOT_LINUX, SEL_SPLIT,
                                            data=bzimage(pref=0x3000000, relocatable=0,
                                                         init_size=0x1000000))
    s['linux-relocated'] = boot_input(BOOT_LINUX, 0, data=bzimage(pref=0x8000000))
    s['linux-bad-align'] = boot_input(BOOT_LINUX, 0, data=bzimage(pref=0x8000000, align=3))
    s['linux-old-protocol'] = boot_input(BOOT_LINUX, 0, data=bzimage(version=0x0204))
    s['linux-no-64bit'] = boot_input(BOOT_LINUX, 0, data=bzimage(xlf=0))
    s['linux-zimage'] = boot_input(BOOT_LINUX, 0, data=bzimage(loadflags=0))
    s['linux-cmdline-too-long'] = boot_input(BOOT_LINUX, 0, cmdline=3000, data=bzimage())
    s['linux-no-cmdline'] = boot_input(BOOT_LINUX, SEL_NO_CMD, data=bzimage())
    s['linux-truncated-setup'] = boot_input(BOOT_LINUX, 0, data=bzimage(setup_sects=40)[:0x800])
    s['linux-huge-init-size'] = boot_input(BOOT_LINUX, 0, data=bzimage(init_size=0xfffff000))
    s['linux-initrd-max-low'] = boot_input(BOOT_LINUX, SEL_EXTRA,
                                           data=bzimage(initrd_max=0x1000))
    s['not-a-bzimage'] = boot_input(BOOT_LINUX, 0, data=bytes(0x400))
    for name, img in binutils_multiboot().items():
        s['multiboot-' + name] = boot_input(BOOT_MULTIBOOT, 0, data=img)
        s['multiboot-' + name + '-modules'] = boot_input(BOOT_MULTIBOOT, SEL_EXTRA, mods=3,
                                                         data=img)
    s['multiboot-elf32'] = boot_input(BOOT_MULTIBOOT, 0, data=multiboot_elf(32))
    s['multiboot-elf64-virtual-entry'] = boot_input(
        BOOT_MULTIBOOT, 0, data=multiboot_elf(64, paddr=0x200000, vaddr=0xffffffff80200000))
    s['multiboot-elf-overlap'] = boot_input(
        BOOT_MULTIBOOT, 0, data=multiboot_elf(32, extra_phdr=(1, 0x1000, 0x100010, 0x100010,
                                                              0x10, 0x10)))
    s['multiboot-elf-above-4g'] = boot_input(
        BOOT_MULTIBOOT, SEL_SPLIT, data=multiboot_elf(64, paddr=0x100000000, entry=0x100000020))
    s['multiboot-aout'] = boot_input(BOOT_MULTIBOOT, SEL_EXTRA, mods=2, data=multiboot_aout())
    s['multiboot-aout-bss'] = boot_input(BOOT_MULTIBOOT, 0,
                                         data=multiboot_aout(load_end=0x100100,
                                                             bss_end=0x110000))
    s['multiboot-aout-bad-fields'] = boot_input(BOOT_MULTIBOOT, 0,
                                                data=multiboot_aout(load=0x100100,
                                                                    header=0x100000))
    s['multiboot-modules-max'] = boot_input(BOOT_MULTIBOOT, SEL_EXTRA | SEL_BIG, mods=17,
                                            cmdline=0xffff, data=multiboot_aout())
    s['multiboot-modules-cmdlines'] = boot_input(BOOT_MULTIBOOT, SEL_EXTRA, mods=16,
                                                 cmdline=0xffff, data=multiboot_aout())
    s['multiboot-video-flag'] = boot_input(BOOT_MULTIBOOT, 0,
                                           data=multiboot_aout(flags=0x00010007))
    s['multiboot-unknown-flags'] = boot_input(BOOT_MULTIBOOT, 0,
                                              data=multiboot_aout(flags=0x00010013))
    s['multiboot-bad-checksum'] = boot_input(BOOT_MULTIBOOT, 0,
                                             data=u32(0x1badb002) + u32(3) + u32(0) + bytes(64))
    s['flat-7c00'] = boot_input(BOOT_FLAT, 0, load=0x7c00, data=bytes([0xfa, 0xf4]) * 128)
    s['flat-low'] = boot_input(BOOT_FLAT, 0, load=0x100, data=bytes(0x400))
    s['flat-high'] = boot_input(BOOT_FLAT, 0, load=0x9f000, data=bytes(0x1000))
    s['flat-too-big'] = boot_input(BOOT_FLAT, 0, load=0xfff00, data=bytes(0x200))
    s['firmware'] = boot_input(BOOT_FIRMWARE, 0, data=bytes([0xea, 0x5b, 0xe0, 0, 0xf0]))
    s['firmware-split'] = boot_input(BOOT_FIRMWARE, SEL_SPLIT, data=bytes(16))
    return s


# ---------------------------------------------------------------------------- BT (fuzz_bt.c)

BT_USER, BT_RING0, BT_REAL, BT_PROT32 = range(4)
BT_DECODE_ONLY, BT_FAULT_UNMAPPED, BT_JIT = 4, 0x40, 0x80


def bt_input(mode, code, insns=1, regs=None, rflags=0x202, fault=True, decode_only=False,
             jit=False):
    regs = list(regs or [0x100, 0x80, 0x1f00, 0x2000, 0x100, 0x1000, 0x2100, 0x2200] + [0] * 8)
    cfg = mode | ((insns - 1) << 3) | (BT_FAULT_UNMAPPED if fault else 0)
    cfg |= BT_DECODE_ONLY if decode_only else 0
    cfg |= BT_JIT if jit else 0
    return u8(cfg) + b''.join(u16(r) for r in regs) + u16(rflags) + bytes(code)


def bt_seeds():
    s = {}
    h = bytes.fromhex
    user = {
        'add-mem': '0000',                      # add [rax], al
        'mov-rip-rel': '488b0500100000',        # mov rax, [rip+0x1000]
        'lea-sib': '488d84c800100000',          # lea rax, [rax+rcx*8+0x1000]
        'rep-stosb': 'f3aa',
        'rep-movsq': 'f348a5',
        'repne-scasb': 'f2ae',
        'lock-cmpxchg': 'f00fb10b',
        'lock-bad': 'f00105',                   # lock add [rip], eax... then UD forms
        'imul-div': '486bc007 48f7f1',          # imul rax,rax,7; div rcx
        'div-zero': '31c9f7f1',
        'shifts-bt': '48d3e0 480fa3c8 0fbac105',
        'push-pop-call': '50 5b e800000000 c3',
        'jcc-loop': '7500 e2fe',
        'cmov-setcc': '480f44c1 0f94c0',
        'movzx-movsx': '0fb6c0 480fbfc0 4863c0',
        'bswap-xadd': '480fc8 0fc1c8',
        'sse-mov': '660f6f00 0f2800 f30f7e00 660fd600',
        'sse-arith': '660ffec1 0f58c1 f20f59c1 660f73d002',
        'sse-cvt': 'f20f2cc0 f30f2ac0 660f5ac1',
        'mmx': '0f6fc8 0ffcc1 0f77',
        'x87': 'd9e8 d9ee dec1 dd18 d9c9',
        'x87-mem': 'dd00 d900 df28',
        'cpuid-rdtsc': '0fa2 0f31',
        'syscall': '0f05',
        'int3-ud2': 'cc 0f0b',
        'hlt-user': 'f4',
        'in-out-user': 'ec e680',
        'string-32bit-addr': '67f3aa',
        'segment-fs': '648b00',
        'popcnt-lzcnt': 'f3480fb8c1 f3480fbdc1',
        'movbe': '0f38f000',
        'prefixes-max': '66' * 14 + '90',
        'prefixes-too-many': '66' * 15 + '90',
        'rex-then-legacy': '4866 90',
        'vex-c5': 'c5f877',
        'enter-leave': 'c8100001 c9',
        'far-jmp-mem': 'ff28',
        'iretq': '48cf',
    }
    ring0 = {
        'mov-cr': '0f20c0 0f22d8',              # mov rax, cr0; mov cr3, rax (paging on)
        'mov-cr4-bad': '48c7c0ffffffff 0f22e0',
        'wrmsr-rdmsr': 'b9800000c0 0f32 0f30',
        'lgdt-lidt': '0f0110 0f0118',
        'in-out': 'ec ee e580 e780',
        'rep-insb': 'f36c',
        'rep-outsd-mmio': 'f36f',
        'invlpg-wbinvd': '0f0138 0f09',
        'hlt': 'fa f4',
        'sti-hlt': 'fb f4',
        'swapgs-sysret': '0f01f8 480f07',
        'mov-ss': '8ed0',
        'ltr-lldt': '0f00d8 0f00d0',
        'mov-dr': '0f23f8 0f21f8',
        'xsetbv': '0f01d1',
        'far-ret': '48cb',
        'lar-lsl': '0f02c0 0f03c0',
        'int-n': 'cd80',
        'mov-cr3-walk': '48c7c000100000 0f22d8 8b00',
    }
    real = {
        'int10': 'cd10',
        'far-jmp': 'ea00000010',
        'mov-seg': '8cd8 8ec0',
        'lodsb-loop': 'ac e2fd',
        'rep-movsw': 'f3a5',
        'pusha-popa': '60 61',
        'lmsw-pe': '0f01f0',
        'mov-cr0-pe': '0f20c0 6683c801 0f22c0',
        'bound-aam-daa': '6207 d40a 27',
        'mem-16bit': '8b4702 8b8600ff 8b00',
        'addr32': '678b00',
        'mmio-above-ram': 'b800f0 8ed8 8b0e0000',
        'iret': 'cf',
        'lgdt-real': '0f0116001f',
    }
    prot32 = {
        'mov-mem': '8b03 8903',
        'int3-no-idt': 'cc',
        'iretd': 'cf',
        'call-far-gate': '9a000000000800',
        'rep-stosd-mmio': 'b9ffffffff f3ab',
        'movs-wrap': 'bfffffffff f3a4',
        'pushfd-popfd': '9c 9d',
        'mov-cr4-pae': '0f20e0 83c820 0f22e0',
        'sysenter': '0f34',
        'arpl': '63c0',
        'aas-aaa': '3f 37',
    }
    for prefix, mode, codes, fault in (('user', BT_USER, user, True),
                                       ('ring0', BT_RING0, ring0, True),
                                       ('real', BT_REAL, real, False),
                                       ('prot32', BT_PROT32, prot32, False)):
        for name, code in codes.items():
            s[prefix + '-' + name] = bt_input(mode, h(code.replace(' ', '')), insns=4,
                                              fault=fault)
            if mode in (BT_USER, BT_RING0):  # the same code compiled by the JIT
                s['jit-' + prefix + '-' + name] = bt_input(mode, h(code.replace(' ', '')),
                                                           insns=4, fault=fault, jit=True)
    s['decode-only-long'] = bt_input(BT_USER, h('f0f2f36766' + '2e' * 5 + '480fb18c8800100000'),
                                     decode_only=True)
    s['decode-only-moffs'] = bt_input(BT_USER, h('48a1' + '11' * 8), decode_only=True)
    return s


# ------------------------------------------- virtio-rng, virtio-console (fuzz_virtio_pv.c)

PV_MEM, PV_DESC, PV_POST, PV_AVAIL_IDX, PV_NOTIFY, PV_BUFFER, PV_COMMON, PV_READ, PV_MSIX, \
    PV_CFG, PV_DEVCFG, PV_RESET, PV_DEFER, PV_CLOCK, PV_INPUT, PV_RESIZE = range(16)
PV_WRITE, PV_INDIRECT, PV_LOOP, PV_CTRL, PV_NO_KICK = 1, 2, 4, 8, 16
# virtio-console control events (VIRTIO 1.2 5.3.6.2)
CON_DEVICE_READY, CON_PORT_READY, CON_PORT_OPEN = 0, 3, 6


def pv_cfg(console=False, qsize=1, limit=False, raw=False):
    return u8((1 if console else 0) | (qsize << 1) | (8 if limit else 0) | (16 if raw else 0))


def pv_buf(q, length, flags=0, segs=1, ctrl=None):
    if ctrl is not None:
        flags |= PV_CTRL
    out = u8(PV_BUFFER) + u8(q) + u8(segs - 1) + u16(length - 1) + u8(flags)
    if ctrl is not None:
        out += u32(ctrl[0]) + u16(ctrl[1]) + u16(ctrl[2])
    return out


def pv_seeds():
    all_f = 0xffffffff
    rng = pv_cfg(qsize=1) + u32(all_f)
    s = {}
    s['rng-fill'] = rng + pv_buf(0, 64, PV_WRITE) + pv_buf(0, 512, PV_WRITE, 3)
    s['rng-indirect'] = rng + pv_buf(0, 256, PV_WRITE | PV_INDIRECT, 4)
    s['rng-loop'] = rng + pv_buf(0, 64, PV_WRITE | PV_LOOP, 2)
    s['rng-readable'] = rng + pv_buf(0, 64)
    s['rng-limited'] = (pv_cfg(qsize=1, limit=True) + u32(all_f) +
                        b''.join(pv_buf(0, 64, PV_WRITE) for _ in range(8)) +
                        u8(PV_CLOCK) + u32(100_000_000) + u8(PV_CLOCK) + u32(250_000_000) +
                        u8(PV_RESET) + u8(PV_CLOCK) + u32(100_000_000))
    s['rng-raw'] = (pv_cfg(raw=True) + u32(all_f) + u8(PV_COMMON) + u8(0x14) + u8(0) + u32(0xf) +
                    u8(PV_NOTIFY) + u8(0))
    con = pv_cfg(console=True, qsize=1) + u32(all_f)
    # The Linux driver's opening: receive buffers on port 0 and control, DEVICE_READY, then
    # PORT_READY and PORT_OPEN for each port; data both ways; a resize; emergency write.
    hello = con
    for q in (0, 2, 4, 6):
        hello += pv_buf(q, 64, PV_WRITE)
    hello += pv_buf(2, 64, PV_WRITE) + pv_buf(2, 64, PV_WRITE)
    hello += pv_buf(3, 8, ctrl=(0, CON_DEVICE_READY, 1))
    for port in range(3):
        hello += pv_buf(3, 8, ctrl=(port, CON_PORT_READY, 1))
        hello += pv_buf(3, 8, ctrl=(port, CON_PORT_OPEN, 1))
    s['console-handshake'] = hello
    s['console-data'] = (hello + pv_buf(1, 100) + pv_buf(5, 300, 0, 3) +
                         pv_buf(7, 64, PV_INDIRECT, 2) +
                         u8(PV_INPUT) + u8(0) + u8(40) + u8(PV_INPUT) + u8(2) + u8(200) +
                         u8(PV_DEFER))
    s['console-resize-emerg'] = (hello + u8(PV_RESIZE) + u8(0) + u16(132) + u16(43) +
                                 u8(PV_DEVCFG) + u8(8) + u8(2) + u32(ord('!')) +
                                 u8(PV_RESIZE) + u8(1) + u16(80) + u16(25))
    s['console-bad-control'] = (hello + pv_buf(3, 8, ctrl=(99, CON_PORT_READY, 1)) +
                                pv_buf(3, 8, ctrl=(0, 0xffff, 7)) + pv_buf(3, 4) +
                                pv_buf(3, 8, PV_WRITE, ctrl=(0, CON_PORT_OPEN, 0)) +
                                pv_buf(3, 64, PV_LOOP, 2))
    s['console-reset-in-flight'] = (hello + pv_buf(1, 100, PV_NO_KICK) + u8(PV_RESET) +
                                    u8(PV_NOTIFY) + u8(1))
    return s


# ---------------------------------------------------------------- fw_cfg (fuzz_fw_cfg.c)

FC_SELECT, FC_READ, FC_PIO, FC_DMA, FC_CHECK, FC_MEM, FC_RESET = range(7)
FC_SEL_DMA_READ, FC_SKIP, FC_WRITE = 0x0a, 0x04, 0x10
FC_DIR, FC_BIG, FC_ONE, FC_EMPTY = 0x19, 0x20, 0x21, 0x22


def be32(v):
    return struct.pack('>I', v & 0xffffffff)


def fc_sel(key):
    return u8(FC_SELECT) + u16(key)


def fc_read(n):
    return u8(FC_READ) + u8(n)


def fc_check(key, length):
    return u8(FC_CHECK) + u16(key) + u16(length)


def fc_dma(acc, control, length, addr, high=False):
    return u8(FC_DMA) + u24(acc) + u32(control) + u32(length) + u32(addr) + u8(int(high))


def fc_pio(port, size_sel, val=0, read=False):
    return u8(FC_PIO) + u8(port) + u8(size_sel) + u32(val) + u8(int(read))


def fw_cfg_seeds():
    s = {}
    # What SeaBIOS and OVMF do first: signature and ID through the data port, then the
    # directory's count and entries by DMA, then files.
    s['firmware-probe'] = (fc_read(4) + fc_sel(0) + fc_read(6) + fc_sel(1) + fc_read(4) +
                           fc_check(FC_DIR, 4) + fc_check(FC_DIR, 4 + 64 * 3) +
                           fc_check(3, 8) + fc_check(5, 2) + fc_check(0x8002, 4))
    s['files'] = (fc_check(FC_BIG, 5000) + fc_check(FC_ONE, 1) + fc_check(FC_EMPTY, 16) +
                  fc_check(FC_BIG, 6000) + fc_sel(FC_BIG) + fc_read(63) + fc_read(63))
    s['unknown-keys'] = (fc_sel(0x7f) + fc_read(8) + fc_sel(0x8005) + fc_read(4) +
                         fc_sel(0xffff) + fc_read(4) + fc_sel(0x4000 | FC_ONE) + fc_read(2) +
                         fc_check(0x30, 32) + fc_check(0x801f, 8))
    # Control words: skip then read, write refused, select only, nothing.
    s['dma-controls'] = (fc_dma(0x1000, FC_BIG << 16 | 0x08 | FC_SKIP, 100, 0x3000) +
                         fc_dma(0x1000, 0x02, 16, 0x3000) +
                         fc_dma(0x1000, FC_WRITE, 4, 0x3000) +
                         fc_dma(0x1000, 1 << 16 | 0x08, 0, 0) +
                         fc_dma(0x1000, 0, 0, 0) + fc_read(4))
    # Access structures and buffers at and beyond RAM's end (64 KiB), wrapping addresses.
    s['dma-bounds'] = (fc_dma(0xfff8, 0x02, 4, 0x2000) + fc_dma(0x10010, 0x02, 4, 0x2000) +
                       fc_dma(0x1000, FC_BIG << 16 | FC_SEL_DMA_READ, 5000, 0xfff0) +
                       fc_dma(0x1000, FC_BIG << 16 | FC_SEL_DMA_READ, 0xffffffff, 0x2000) +
                       fc_dma(0x1000, FC_BIG << 16 | FC_SEL_DMA_READ, 16, 0xfffffff0,
                              high=True) +
                       fc_dma(0x1000, 0x02, 0x100, 0x20000))
    # The DMA register: its signature, halves of other sizes, a kick without the high half.
    s['dma-register'] = (fc_pio(4, 0, read=True) + fc_pio(4, 3, read=True) +
                         fc_pio(8, 2, read=True) + fc_pio(4, 1, 0x1234) +
                         fc_pio(8, 2, 0x00100000) + fc_pio(0, 0, 1) + fc_pio(1, 0, 7) +
                         fc_pio(1, 1, read=True) + fc_pio(11, 3, read=True))
    s['reset'] = (fc_sel(FC_BIG) + fc_read(10) + u8(FC_RESET) + fc_read(4) +
                  fc_pio(4, 2, 0) + u8(FC_RESET) + fc_pio(8, 2, 0x00100000) +
                  fc_check(FC_ONE, 1))
    return s


# Inputs too slow to give the fuzzer (its mutations of them would be as slow, and a loaded
# machine can take longer than libFuzzer's 10 s timeout): replayed by suite fuzz-smoke only.
SLOW = {'virtio_blk': lambda: {'wrapping-index': vb_wrap()}}

# ------------------------------------------------------------ snapshot (fuzz_snapshot.c)

SNAP_BASE = 'counter-16m'  # a real counter-guest snapshot (format 1), kept as it is
SNAP_KEEP = ('counter-16m', 'bad-crc', 'bad-magic', 'cut', 'memory-too-small', 'newer-format',
             'section-too-long')  # it and its damaged variants, taken from it once


def snap_sections(state):
    """(header, [(name, version, flags, payload)]) of a state file (trailer dropped)."""
    body, at, out = state[:-4], 32, []
    while at < len(body):
        n = body[at]
        name = body[at + 1:at + 1 + n]
        version, flags, length = struct.unpack_from('<IIQ', body, at + 1 + n)
        payload = body[at + 1 + n + 16:at + 1 + n + 16 + length]
        out.append((name, version, flags, payload))
        at += 1 + n + 16 + length
    return body[:32], out


def snap_state(header, sections, fmt):
    import zlib
    body = bytearray(header)
    body[8:12] = u32(fmt)
    body[16:20] = u32(len(sections))
    for name, version, flags, payload in sections:
        body += u8(len(name)) + name + u32(version) + u32(flags) + u64(len(payload)) + payload
    return bytes(body) + u32(zlib.crc32(bytes(body)))


def snap_devmem(mems):
    return u32(len(mems)) + b''.join(u8(len(n)) + n + u64(ln) + u64(off) for n, ln, off in mems)


def snapshot_seeds():
    """Format 2 (the devmem section: video RAM after RAM in the memory file) and its refusals,
    made from the real format 1 snapshot; that one and its variants are kept."""
    d = os.path.join(HERE, 'corpus', 'snapshot')
    seeds = {}
    for name in SNAP_KEEP:
        with open(os.path.join(d, name), 'rb') as f:
            seeds[name] = f.read()
    base = seeds[SNAP_BASE]
    pages, state = struct.unpack_from('<I', base)[0], base[4:]
    header, secs = snap_sections(state)
    ram = pages * 4096
    vram = 16 << 20

    def with_devmem(mems, file_pages, fmt=2, at=2):
        s2 = list(secs)
        if mems is not None:
            s2.insert(at, (b'devmem', 1, 0, snap_devmem(mems)))
        mem = bytearray(dict((n, p) for n, _, _, p in secs)[b'memory'])
        # u32 page, u32 regions, 24 bytes a region; then the memory file's size
        nreg = struct.unpack_from('<I', mem, 4)[0]
        mem[8 + 24 * nreg:16 + 24 * nreg] = u64(file_pages * 4096)
        s2 = [(n, v, f, bytes(mem) if n == b'memory' else p) for n, v, f, p in s2]
        return u32(file_pages) + snap_state(header, s2, fmt)

    big = pages + vram // 4096
    seeds['format2-vga'] = with_devmem([(b'vga0', vram, ram)], big)
    seeds['format2-none'] = with_devmem([], pages)
    seeds['format2-no-devmem'] = with_devmem(None, pages)
    seeds['format1-devmem'] = with_devmem([(b'vga0', vram, ram)], big, fmt=1)
    seeds['devmem-overlap'] = with_devmem([(b'vga0', vram, ram - 4096)], big)
    seeds['devmem-outside'] = with_devmem([(b'vga0', vram, ram + 4096)], big)
    seeds['devmem-unaligned'] = with_devmem([(b'vga0', vram - 512, ram)], big)
    seeds['devmem-same-name'] = with_devmem([(b'vga0', 4096, ram), (b'vga0', 4096, ram + 4096)],
                                            pages + 2)
    seeds['devmem-too-many'] = with_devmem([(b'v%d' % i, 4096, ram + 4096 * i)
                                            for i in range(5)], pages + 5)
    st = snap_state(header, [secs[0], secs[1], (b'devmem', 1, 0, snap_devmem([])),
                             (b'devmem', 1, 0, snap_devmem([])), secs[2]], 2)
    seeds['devmem-twice'] = u32(pages) + st
    seeds['devmem-v2'] = u32(pages) + snap_state(
        header, [secs[0], secs[1], (b'devmem', 2, 0, snap_devmem([])), secs[2]], 2)
    return seeds


TARGETS = {'virtio_blk': vb_seeds, 'virtio_pv': pv_seeds, 'ahci': ahci_seeds, 'pci': pci_seeds,
           'fw_cfg': fw_cfg_seeds,
           'boot': boot_seeds, 'bt': bt_seeds, 'snapshot': snapshot_seeds}


def main(argv):
    for t in argv[1:] or TARGETS:
        if t not in TARGETS:
            sys.exit(f'make_seeds.py: no target {t} (one of {", ".join(TARGETS)})')
        write_corpus(t, TARGETS[t]())
        if t in SLOW:
            write_corpus(t, SLOW[t](), 'slow')


if __name__ == '__main__':
    main(sys.argv)
