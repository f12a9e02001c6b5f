/* The status strings are part of the API: they must match the Java WcStatus texts word for word. */
#include <stdio.h>
#include <string.h>

#include "vmrdma.h"

static int failures;

static void expect(int status, const char *text)
{
	const char *got = vmrdma_wc_status_str((enum vmrdma_wc_status)status);
	if (strcmp(got, text) != 0) {
		fprintf(stderr, "status %d: expected \"%s\", got \"%s\"\n", status, text, got);
		failures++;
	}
}

int main(void)
{
	expect(0, "success");
	expect(1, "local length error");
	expect(2, "local QP operation error");
	expect(4, "local protection error");
	expect(5, "work request flushed");
	expect(9, "remote invalid request error");
	expect(10, "remote access error");
	expect(11, "remote operation error");
	expect(12, "transport retry counter exceeded");
	expect(13, "RNR retry counter exceeded");
	expect(3, "unknown");
	expect(-1, "unknown");
	expect(1000, "unknown");
	if (strcmp(vmrdma_version(), "0.1.0") != 0) {
		fprintf(stderr, "version %s\n", vmrdma_version());
		failures++;
	}
	return failures ? 1 : 0;
}
