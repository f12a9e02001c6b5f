/* Error words and small helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static _Thread_local char last_error[512];

int vm_fail(int err, const char *fmt, ...)
{
	/* Formatted aside first: callers often wrap the previous message (an argument that is last_error itself). */
	char message[sizeof(last_error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	memcpy(last_error, message, sizeof(last_error));
	return err;
}

const char *vmrdma_last_error(void)
{
	return last_error;
}

int64_t vm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vm_parse_long(const char *s, long min, long max, long *out)
{
	if (s == NULL || *s == '\0')
		return -EINVAL;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	*out = v;
	return 0;
}
