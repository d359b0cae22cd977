/* SPDX-License-Identifier: MIT */
/*
 * For targets built with -DFUZZ_REPLAY: run LLVMFuzzerTestOneInput on every file named on the
 * command line and on every file of the folders named there (the corpus). Returns main's exit
 * status: 0 when at least one input ran, 1 when none did or one could not be read.
 */
#ifndef TESTS_FUZZ_REPLAY_H
#define TESTS_FUZZ_REPLAY_H

int fuzz_replay_main(int argc, char **argv);

#endif
