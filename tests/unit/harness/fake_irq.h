/* SPDX-License-Identifier: MIT */
/*
 * A fake interrupt sink for unit tests (docs/conventions.md section 13):
 * records the current level of one line, how many times it rose and fell, and how many
 * times the device drove it at all (so tests can check that devices touch a
 * line only on change). Not thread-safe; unit tests are single-threaded.
 */
#ifndef TESTS_HARNESS_FAKE_IRQ_H
#define TESTS_HARNESS_FAKE_IRQ_H

#include "vmm/irq.h"

struct fake_irq {
	int level;
	unsigned rises, falls; /* 0->1 and 1->0 transitions */
	unsigned sets;	       /* calls of the sink, changed or not */
	unsigned last_pin;     /* pin of the last call */
};

/* Zero the record and return a line whose sink is f, with the given pin number. */
struct irq_line fake_irq_line(struct fake_irq *f, unsigned pin);

static inline int fake_irq_level(const struct fake_irq *f)
{
	return f->level;
}

/* Transitions in both directions since fake_irq_line (or fake_irq_clear_counts). */
static inline unsigned fake_irq_edges(const struct fake_irq *f)
{
	return f->rises + f->falls;
}

/* Forget counts (not the level). */
void fake_irq_clear_counts(struct fake_irq *f);

#endif
