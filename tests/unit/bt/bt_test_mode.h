/* SPDX-License-Identifier: MIT */
/*
 * Which tier the BT engine's tests run: BT_TEST_JIT=N in the environment gives every CPU a test
 * builds the JIT with a threshold of N (1: every block is compiled the first time it runs);
 * unset or 0, the interpreter alone. meson registers each engine test once per tier.
 */
#ifndef TESTS_UNIT_BT_BT_TEST_MODE_H
#define TESTS_UNIT_BT_BT_TEST_MODE_H

#include "bt-fallback/bt.h"

#include <stdlib.h>

static inline struct bt_cpu_config bt_test_config(struct bt_cpu_config cfg)
{
	const char *v = getenv("BT_TEST_JIT");
	unsigned long n = v ? strtoul(v, NULL, 0) : 0;

	if (n) {
		cfg.jit = true;
		cfg.jit_threshold = (unsigned)n;
	}
	return cfg;
}

#endif
