/* SPDX-License-Identifier: MIT */
/*
 * VMM_TEST_HOST_LACKS: a comma list of host features a test run was made to lack on purpose
 * (scripts/host-without sets it: compat32, io_uring, libaio, kvm, CPU extensions). A test that
 * finds one of them present anyway fails: the simulation did not take; one that finds another
 * missing skips that part as on any host.
 */
#ifndef TESTS_UNIT_HARNESS_HOST_LACKS_H
#define TESTS_UNIT_HARNESS_HOST_LACKS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool test_host_lacks(const char *feature)
{
	const char *v = getenv("VMM_TEST_HOST_LACKS");
	size_t n = strlen(feature);

	while (v && *v) {
		size_t len = strcspn(v, ",");

		if (len == n && !strncmp(v, feature, n))
			return true;
		v += len + (v[len] == ',');
	}
	return false;
}

#endif
