// SPDX-License-Identifier: MIT
/*
 * vmm-img check [--repair]: validates every sparse extent (entries past EOF or inside the
 * metadata, grains referenced twice, leaked space, primary/redundant table disagreement, the
 * unclean flag) and, with --repair, reconciles the two table copies, truncates leaked space at
 * the end of the file and clears the unclean flag. Leaks inside the file (e.g. grains qemu
 * orphaned by zero-writes) are reported but not reclaimed: that would need moving grains. A delta is checked with its chain opened,
 * so a parentCID mismatch is reported too.
 * Exit: 0 clean (or everything repaired), 2 corruption remains, 3 only leaks remain, 1 error.
 */
#include "vmdk/tool/img.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int img_check_main(int argc, char **argv)
{
	static const struct option lo[] = { { "repair", no_argument, 0, 'r' },
					    { "json", no_argument, 0, 'j' },
					    { "allow-outside", no_argument, 0, 'a' },
					    { 0, 0, 0, 0 } };
	struct vmdk_open_opts o = { .readonly = true, .no_auto_repair = true };
	struct vmdk_check_result sum = { 0 };
	bool repair = false, json = false, unclean = false;
	struct vmdk_image *img;
	struct err err = { 0 };
	u64 corrupt, leaks;
	int c, rc;

	while ((c = getopt_long(argc, argv, "rf:", lo, NULL)) != -1) {
		if (c == 'r')
			repair = true;
		else if (c == 'j')
			json = true;
		else if (c == 'a')
			o.allow_outside = true;
		else if (c != 'f')
			return img_usage(NULL);
	}
	if (optind != argc - 1)
		return img_usage("check needs one FILE");
	o.readonly = !repair;
	if (vmdk_image_open(argv[optind], &o, &img, &err) < 0)
		return img_fail("%s", err.msg);
	for (unsigned i = 0; i < img->n_ext; i++) {
		struct vmdk_check_result r;
		struct vmdk_sparse *sp = img->ext[i].sp;

		if (!sp)
			continue;
		/* the open for repair has just set the flag: it counts only from before */
		unclean |= repair ? false : sp->h.unclean != 0;
		if (vmdk_sparse_check(sp, repair, &r, &err) < 0) {
			vmdk_image_close(img);
			return img_fail("%s", err.msg);
		}
		sum.allocated_grains += r.allocated_grains;
		sum.leaked_clusters += r.leaked_clusters;
		sum.corruptions += r.corruptions;
		sum.rgd_mismatch += r.rgd_mismatch;
		sum.repaired += r.repaired;
		sum.leaks_fixed += r.leaks_fixed;
	}
	if (vmdk_image_close(img) < 0)
		return img_fail("%s: cannot close cleanly", argv[optind]);
	corrupt = sum.corruptions + (repair ? 0 : sum.rgd_mismatch);
	leaks = sum.leaked_clusters - sum.leaks_fixed; /* inner leaks cannot be released */
	rc = corrupt ? IMG_EXIT_CORRUPT : leaks ? IMG_EXIT_LEAKS : IMG_EXIT_OK;
	if (json) {
		printf("{\"filename\": ");
		img_json_str(argv[optind]);
		printf(", \"check-errors\": %llu, \"corruptions\": %llu, \"leaks\": %llu, "
		       "\"redundant-mismatches\": %llu, \"repaired\": %llu, "
		       "\"allocated-clusters\": %llu, \"unclean\": %s}\n",
		       (unsigned long long)corrupt, (unsigned long long)sum.corruptions,
		       (unsigned long long)sum.leaked_clusters,
		       (unsigned long long)sum.rgd_mismatch, (unsigned long long)sum.repaired,
		       (unsigned long long)sum.allocated_grains, unclean ? "true" : "false");
		return rc;
	}
	if (unclean)
		printf("The image was not closed cleanly (unclean-shutdown flag set).\n");
	if (sum.corruptions)
		printf("%llu errors were found on the image (entries past the end of the file, "
		       "inside metadata, or shared).\n",
		       (unsigned long long)sum.corruptions);
	if (sum.rgd_mismatch)
		printf("%llu grain table entries differ between the primary and redundant "
		       "directories%s.\n",
		       (unsigned long long)sum.rgd_mismatch, repair ? " (repaired)" : "");
	if (sum.leaked_clusters)
		printf("%llu leaked clusters were found on the image (%llu released).\n",
		       (unsigned long long)sum.leaked_clusters,
		       (unsigned long long)sum.leaks_fixed);
	if (!corrupt && !leaks)
		printf("No errors were found on the image.\n");
	printf("%llu allocated clusters.\n", (unsigned long long)sum.allocated_grains);
	return rc;
}
