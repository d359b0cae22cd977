/* SPDX-License-Identifier: MIT */
/*
 * The vmm's worker thread for long operations on a VM (docs/snapshots.md): writing a
 * snapshot's files, a migration's stream. The main loop must keep serving the API meanwhile,
 * so the work runs here and hands its results back with loop_post.
 *
 * The thread is created with the control API (the only way to ask for such work), before the
 * sandbox locks the main thread down, so that it does not inherit the main thread's seccomp
 * list: it installs its own (SANDBOX_KIND_WORKER: files of a snapshot, one stream socket)
 * with worker_lockdown once a VM exists, and it never runs device code.
 *
 * One job at a time. Threads: worker_create, worker_run, worker_wait and worker_destroy on
 * the main thread; the job on the worker.
 */
#ifndef VMM_WORKER_H
#define VMM_WORKER_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"

struct worker;

MUST_CHECK int worker_create(struct worker **out, struct err *err);
/* Wait for a job in progress, end the thread. NULL is fine. */
void worker_destroy(struct worker *w);

/* Run fn(opaque) on the worker. -EBUSY while another job runs. */
MUST_CHECK int worker_run(struct worker *w, void (*fn)(void *opaque), void *opaque);
/* Wait until the job in progress (if any) has returned. */
void worker_wait(struct worker *w);

/*
 * On the worker, from a job: install the worker's seccomp list if the sandbox is prepared (a
 * VM exists) and it is not installed yet. 0, or a negative errno (logged).
 */
int worker_lockdown(void);

#endif
