/* SPDX-License-Identifier: MIT */
/* s3.S woken by the power button instead of the RTC alarm: it sleeps until it is pressed. */
	.set WAKE_BY_BUTTON, 1
	.include "s3.S"
