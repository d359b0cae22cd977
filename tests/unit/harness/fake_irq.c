// SPDX-License-Identifier: MIT
/* Fake interrupt sink: see fake_irq.h. */
#include "fake_irq.h"

#include <string.h>

static void fake_irq_set(void *sink, unsigned pin, int level)
{
	struct fake_irq *f = sink;

	level = !!level;
	f->sets++;
	f->last_pin = pin;
	if (level && !f->level)
		f->rises++;
	else if (!level && f->level)
		f->falls++;
	f->level = level;
}

struct irq_line fake_irq_line(struct fake_irq *f, unsigned pin)
{
	memset(f, 0, sizeof(*f));
	return (struct irq_line){ .set = fake_irq_set, .sink = f, .pin = pin };
}

void fake_irq_clear_counts(struct fake_irq *f)
{
	f->rises = 0;
	f->falls = 0;
	f->sets = 0;
}
