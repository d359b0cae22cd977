// SPDX-License-Identifier: MIT
/* Test platform: see test_platform.h. */
#include "test_platform.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_platform_request(struct platform *p, enum platform_request req, int code)
{
	struct test_platform *tp = p->owner;

	if (tp->nr_reqs < TEST_PLATFORM_MAX_RECORDS)
		tp->reqs[tp->nr_reqs] = (struct test_request){ .req = req, .code = code };
	tp->nr_reqs++;
}

static void test_platform_msi(struct platform *p, u64 addr, u32 data)
{
	struct test_platform *tp = p->owner;

	if (tp->nr_msis < TEST_PLATFORM_MAX_RECORDS)
		tp->msis[tp->nr_msis] = (struct test_msi){ .addr = addr, .data = data };
	tp->nr_msis++;
}

int test_platform_init(struct test_platform *tp, u64 ram_bytes)
{
	struct platform *p = &tp->p;
	int ret;

	memset(tp, 0, sizeof(*tp));
	platform_lock_init(p);
	bus_init(&p->pio, "pio", LOG_CAT_PIO, &p->dev_lock);
	bus_init(&p->mmio, "mmio", LOG_CAT_MMIO, &p->dev_lock);
	vclock_init_fake(&p->clock, TEST_PLATFORM_WALL_BASE_NS);
	p->request = test_platform_request;
	p->msi = test_platform_msi;
	p->owner = tp;
	if (!ram_bytes)
		return 0;
	tp->ram = calloc(1, ram_bytes);
	if (!tp->ram) {
		ret = -ENOMEM;
		goto err_buses;
	}
	ret = gmem_add(&p->mem, 0, ram_bytes, tp->ram);
	if (ret < 0)
		goto err_free_ram;
	return 0;

err_free_ram:
	free(tp->ram);
	tp->ram = NULL;
err_buses:
	bus_destroy(&p->mmio);
	bus_destroy(&p->pio);
	pthread_mutex_destroy(&p->dev_lock);
	return ret;
}

void test_platform_destroy(struct test_platform *tp)
{
	platform_devs_free(&tp->p);
	bus_destroy(&tp->p.mmio);
	bus_destroy(&tp->p.pio);
	pthread_mutex_destroy(&tp->p.dev_lock);
	free(tp->ram);
	tp->ram = NULL;
}

unsigned test_platform_advance(struct test_platform *tp, u64 delta_ns)
{
	struct vclock *c = &tp->p.clock;
	u64 target = vclock_now_ns(c) + delta_ns;
	unsigned fired = 0;
	u64 next;

	/* Step to each deadline in turn so re-armed timers see their own time as now. */
	while ((next = timer_next_deadline(c)) <= target) {
		if (next > vclock_now_ns(c))
			clock_fake_advance(c, next - vclock_now_ns(c));
		fired += timer_run_due(c);
	}
	clock_fake_advance(c, target - vclock_now_ns(c));
	return fired;
}

u64 test_platform_now(const struct test_platform *tp)
{
	return vclock_now_ns(&tp->p.clock);
}

int test_platform_last_req(const struct test_platform *tp)
{
	unsigned n = MIN(tp->nr_reqs, TEST_PLATFORM_MAX_RECORDS);

	return n ? (int)tp->reqs[n - 1].req : -1;
}
