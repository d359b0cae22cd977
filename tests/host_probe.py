# SPDX-License-Identifier: MIT
"""Probes for the host features the python tests lean on, so a test skips (meson status 77) or
skips a counted part with the reason instead of failing where the host lacks one.

Each probe returns None when the feature is usable, else why it is not, in words for the log.
VMM_TEST_HOST_LACKS (a comma list, set by scripts/host-without) names features the host is
made to lack on purpose; a probe for one of them must then report it missing."""
import ctypes
import os
import shutil
import sys

SKIP = 77

_NR_IO_SETUP, _NR_IO_DESTROY, _NR_IO_URING_SETUP = 206, 207, 425  # x86-64


def host_lacks():
    """The features VMM_TEST_HOST_LACKS says this host was made to lack."""
    return {f.strip() for f in os.environ.get("VMM_TEST_HOST_LACKS", "").split(",") if f.strip()}


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def io_uring_refusal():
    """None if io_uring_setup works here, else why not (kernel.io_uring_disabled, a seccomp
    profile, a kernel without io_uring)."""
    libc = _libc()
    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    fd = libc.syscall(ctypes.c_long(_NR_IO_URING_SETUP), ctypes.c_ulong(1), params)
    if fd >= 0:
        os.close(fd)
        return None
    why = f"io_uring_setup fails: {os.strerror(ctypes.get_errno())}"
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            why += f" (kernel.io_uring_disabled = {f.read().strip()})"
    except OSError:
        pass
    return why


def libaio_refusal():
    """None if the kernel's native AIO (io_setup) works here, else why not."""
    libc = _libc()
    ctx = ctypes.c_ulong(0)
    if libc.syscall(ctypes.c_long(_NR_IO_SETUP), ctypes.c_ulong(1), ctypes.byref(ctx)) == 0:
        libc.syscall(ctypes.c_long(_NR_IO_DESTROY), ctx)
        return None
    return f"io_setup fails: {os.strerror(ctypes.get_errno())}"


def engine_refusal(engine):
    """Why the block layer's I/O engine `engine` cannot run here, or None."""
    probe = {"io_uring": io_uring_refusal, "libaio": libaio_refusal}.get(engine)
    return probe() if probe else None


def missing_tools(*names):
    """The programs among names that are not on PATH."""
    return [n for n in names if not shutil.which(n)]


def require_tools(*names, why="the test runs them"):
    """Exit 77 (skip) naming the missing programs."""
    gone = missing_tools(*names)
    if gone:
        print(f"SKIP: {', '.join(gone)} not installed ({why}; scripts/deps.sh test installs "
              "them)")
        sys.exit(SKIP)
