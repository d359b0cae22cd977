// SPDX-License-Identifier: MIT
/* The platform's device list: registration order, names, removal. */
#include "vmm/platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_add_find_del_in_order(void **state)
{
	struct platform p = { 0 };
	int a, b, c;

	(void)state;
	assert_int_equal(platform_add_dev(&p, NULL, &a, "uart0"), 0);
	assert_int_equal(platform_add_dev(&p, NULL, &b, "rtc0"), 0);
	assert_int_equal(platform_add_dev(&p, NULL, &c, "lapic0"), 0);
	assert_int_equal(p.nr_devs, 3);
	assert_ptr_equal(platform_find_dev(&p, "rtc0")->dev, &b);
	assert_null(platform_find_dev(&p, "rtc1"));
	platform_del_dev(&p, &b);
	platform_del_dev(&p, &b); /* not registered any more: nothing happens */
	assert_int_equal(p.nr_devs, 2);
	assert_string_equal(p.devs[0].name, "uart0");
	assert_string_equal(p.devs[1].name, "lapic0");
	platform_devs_free(&p);
	assert_int_equal(p.nr_devs, 0);
}

static void test_refuses_duplicate_and_long_names(void **state)
{
	struct platform p = { 0 };
	char name[64];
	int a, b;

	(void)state;
	assert_int_equal(platform_add_dev(&p, NULL, &a, "pic"), 0);
	assert_int_equal(platform_add_dev(&p, NULL, &b, "pic"), -EEXIST);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	assert_int_equal(platform_add_dev(&p, NULL, &b, name), -ENAMETOOLONG);
	assert_int_equal(p.nr_devs, 1);
	platform_devs_free(&p);
}

static void test_grows_past_initial_capacity(void **state)
{
	struct platform p = { 0 };
	int devs[40];
	char name[16];

	(void)state;
	for (unsigned i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "dev%u", i);
		assert_int_equal(platform_add_dev(&p, NULL, &devs[i], name), 0);
	}
	assert_int_equal(p.nr_devs, 40);
	assert_ptr_equal(platform_find_dev(&p, "dev39")->dev, &devs[39]);
	platform_devs_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_del_in_order),
		cmocka_unit_test(test_refuses_duplicate_and_long_names),
		cmocka_unit_test(test_grows_past_initial_capacity),
	};
	return cmocka_run_group_tests_name("platform_devs", tests, NULL, NULL);
}
