/* SPDX-License-Identifier: MIT */
/*
 * Interrupt lines (docs/conventions.md section 6). A device holds struct
 * irq_line values handed to it by the board and raises or lowers them; it never
 * knows GSI numbers nor what is behind the line (the in-kernel irqchip
 * under KVM, the userspace PIC/IOAPIC under BT, a fake in unit tests).
 */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include "vmm/base/types.h"

struct irq_line {
	void (*set)(void *sink, unsigned pin, int level);
	void *sink;
	unsigned pin;
};

/* Drive the line to level (0 or 1). A line with no sink is silently ignored. Device lock held. */
static inline void irq_line_set(const struct irq_line *line, int level)
{
	if (line->set)
		line->set(line->sink, line->pin, level);
}

/* A rising then falling edge, for edge-triggered sources. */
static inline void irq_line_pulse(const struct irq_line *line)
{
	irq_line_set(line, 1);
	irq_line_set(line, 0);
}

#endif
