// SPDX-License-Identifier: MIT
/*
 * sd_notify(3) for `vmm run` under systemd (notify.h). The messages are libsystemd's
 * sd_notify(); the watchdog is a periodic timerfd on the main loop, so a wedged loop stops the
 * pings and systemd's WatchdogSec= acts (the guest being busy does not matter: vCPUs run on
 * their own threads). After the sandbox's lockdown sd_notify needs a new AF_UNIX datagram
 * socket per message, which the main thread's list allows only when $NOTIFY_SOCKET is set.
 */
#include "vmm/notify.h"

#include "vmm/base/err.h"
#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* One process, one service manager: process-wide like the environment it comes from. */
static struct {
	u64 watchdog_usec;
	int timer_fd;
	bool inited;
	bool ready;	  /* READY=1 sent */
	char status[256]; /* the last STATUS= */
} notify_st = { .timer_fd = -1 };

static void notify_send(const char *state)
{
	int ret;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	ret = sd_notify(0, state);
	if (ret < 0)
		LOG_ONCE(LOG_LEVEL_WARN, "systemd: cannot notify the service manager: %s",
			 strerror(-ret));
}

/* "<head>STATUS=<formatted>" */
static void notify_vsend(const char *head, const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%sSTATUS=", head);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	/* STATUS is one line of the message: a newline would start another assignment */
	for (char *p = buf + n; *p; p++)
		if (*p == '\n')
			*p = ' ';
	notify_send(buf);
}

void notify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_vsend("READY=1\n", fmt, ap);
	va_end(ap);
}

void notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_vsend("", fmt, ap);
	va_end(ap);
}

void notify_stopping(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_vsend("STOPPING=1\n", fmt, ap);
	va_end(ap);
}

void notify_vmm_event(const struct vmm_event *ev)
{
	char *st = notify_st.status;
	size_t cap = sizeof(notify_st.status);

	if (!strcmp(ev->source, "vmm")) {
		if (!strcmp(ev->event, "shutdown"))
			notify_stopping("%s", st[0] ? st : "Stopping");
		return;
	}
	if (!strcmp(ev->event, "rebooting"))
		snprintf(st, cap, "Rebooting: %s", ev->msg);
	else if (!strcmp(ev->event, "shutdown"))
		snprintf(st, cap, "Shutdown: %s (exit status %d)", ev->msg, ev->status);
	else if (!strcmp(ev->event, "deleted"))
		snprintf(st, cap, "No VM: %s", ev->msg);
	else if (ev->state[0])
		snprintf(st, cap, "%s", ev->state);
	else
		return;
	if (!notify_st.ready && !strcmp(ev->event, "booted")) {
		notify_st.ready = true;
		notify_ready("%s", st);
	} else {
		notify_status("%s", st);
	}
}

u64 notify_watchdog_usec(void)
{
	return notify_st.watchdog_usec;
}

int notify_init(struct err *err)
{
	struct itimerspec its = { 0 };
	uint64_t usec = 0;
	u64 half;
	int ret;

	if (notify_st.inited)
		return 0;
	notify_st.inited = true;
	ret = sd_watchdog_enabled(0, &usec);
	if (ret < 0) {
		log_warn("systemd: ignoring a bad $WATCHDOG_USEC or $WATCHDOG_PID: %s",
			 strerror(-ret));
		return 0;
	}
	if (ret == 0 || usec == 0)
		return 0;
	notify_st.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (notify_st.timer_fd < 0)
		return err_set(err, -errno, "systemd watchdog: timerfd_create: %s",
			       strerror(errno));
	/* sd_watchdog_enabled(3): ping at least every half interval */
	half = usec / 2 ? usec / 2 : 1;
	its.it_value.tv_sec = (time_t)(half / 1000000);
	its.it_value.tv_nsec = (long)(half % 1000000 * 1000);
	its.it_interval = its.it_value;
	if (timerfd_settime(notify_st.timer_fd, 0, &its, NULL) < 0) {
		ret = err_set(err, -errno, "systemd watchdog: timerfd_settime: %s",
			      strerror(errno));
		close(notify_st.timer_fd);
		notify_st.timer_fd = -1;
		return ret;
	}
	notify_st.watchdog_usec = usec;
	log_info("systemd: watchdog every %llu ms (WatchdogSec=), pinged from the main loop",
		 (unsigned long long)(usec / 1000));
	return 0;
}

void notify_fini(void)
{
	if (notify_st.timer_fd >= 0)
		close(notify_st.timer_fd);
	notify_st.timer_fd = -1;
	notify_st.watchdog_usec = 0;
	notify_st.inited = false;
	notify_st.ready = false;
	notify_st.status[0] = '\0';
}

static void notify_on_watchdog(void *opaque, int fd, u32 events)
{
	u64 expirations;

	(void)opaque;
	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_dbg(LOG_CAT_DEV, "systemd watchdog: timer read: %s", strerror(errno));
	notify_send("WATCHDOG=1");
}

int notify_attach(struct loop *l)
{
	if (notify_st.timer_fd < 0)
		return 0;
	return loop_add(l, notify_st.timer_fd, EPOLLIN, notify_on_watchdog, NULL);
}

void notify_detach(struct loop *l)
{
	if (notify_st.timer_fd >= 0 && l)
		loop_del(l, notify_st.timer_fd);
}
