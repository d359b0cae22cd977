/* SPDX-License-Identifier: MIT */
/*
 * The serial console's host side: where the guest's UART output goes and
 * where its input comes from. Targets (spec "serial.target"): stdio (a
 * terminal is put in raw mode; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A),
 * file (output only, truncated at start; created 0600, never through a
 * symbolic link), pty (a new pseudo-terminal whose path is logged), unix (a
 * listening socket of mode 0600 that serves only our uid and root; one
 * client at a time; the last 64 KiB of output written while none is
 * connected is replayed to the next client; a stale socket at the path is
 * replaced, a live one refused), none.
 *
 * The console outlives VM restarts (a guest reboot keeps the same pty).
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <stddef.h>

struct console;
struct loop;
struct serial_spec;

/* Accepts up to len input bytes for the guest; returns how many it took. Main thread. */
typedef size_t (*console_input_fn)(void *opaque, const u8 *buf, size_t len);
/* The user typed the quit sequence. Main thread. */
typedef void (*console_quit_fn)(void *opaque);

MUST_CHECK int console_open(const struct serial_spec *spec, const char *vm_name,
			    struct console **out, struct err *err);
void console_close(struct console *c);

/* Guest output. Any thread (the UART calls it under the device lock). */
void console_write(struct console *c, const void *buf, size_t len);

/* Start delivering input to fn through the loop. Main thread. */
MUST_CHECK int console_attach(struct console *c, struct loop *l, console_input_fn fn,
			      console_quit_fn quit, void *opaque);
void console_detach(struct console *c);

/* Input is waiting for the guest to make room: call console_retry soon. Main thread. */
bool console_input_pending(const struct console *c);
void console_retry(struct console *c);

/* The pty's path (SERIAL_PTY), else NULL. */
const char *console_pty_path(const struct console *c);

#endif
