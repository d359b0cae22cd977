/* SPDX-License-Identifier: MIT */
/*
 * systemd service notifications (sd_notify(3), libsystemd): READY=1 once the guest runs,
 * STATUS= with the VM's state ("Running", "Paused", "Shutdown: ..."), STOPPING=1 when it
 * ends, and WATCHDOG=1 from the main loop when the unit sets WatchdogSec= (docs/sandbox.md).
 * Outside a Type=notify service ($NOTIFY_SOCKET unset) every call does nothing. Main thread.
 */
#ifndef VMM_NOTIFY_H
#define VMM_NOTIFY_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

struct err;
struct loop;
struct vmm_event;

/*
 * Read $WATCHDOG_USEC (for this process) and, when set, create the watchdog's timer. Before
 * the sandbox's lockdown. 0, or a negative errno with the reason in err.
 */
MUST_CHECK int notify_init(struct err *err);
void notify_fini(void);

/* Ping the watchdog from l (every half interval) until notify_detach. No-op without one. */
MUST_CHECK int notify_attach(struct loop *l);
void notify_detach(struct loop *l);

/* The watchdog interval systemd asked for, in microseconds; 0 when there is none. */
u64 notify_watchdog_usec(void);

/* READY=1 with STATUS=<fmt>: the guest runs. Again after a reboot: systemd ignores repeats. */
void notify_ready(const char *fmt, ...) PRINTF(1, 2);
/* STATUS=<fmt>: what `systemctl status` shows. */
void notify_status(const char *fmt, ...) PRINTF(1, 2);
/* STOPPING=1 with STATUS=<fmt>: the VM is ending and the process exits next. */
void notify_stopping(const char *fmt, ...) PRINTF(1, 2);

/*
 * What the vmm's events mean to systemd (a vmm listener, vmm.h): the first "booted" sends
 * READY=1; each VM event sets STATUS= to the state ("Running", "Paused", "Rebooting: why",
 * "Shutdown: why (exit status N)"); the vmm's own "shutdown" (the process ends) sends
 * STOPPING=1 with the last STATUS.
 */
void notify_vmm_event(const struct vmm_event *ev);

#endif
