/*
 * sockpath.c — the default socket path (see sockpath.h).
 */
#include "sockpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int sockpath_put(char *buf, size_t len, int n)
{
	if (n < 0 || (size_t)n >= len || (size_t)n >= SOCKPATH_MAX)
		return -ENAMETOOLONG;
	(void)buf;
	return 0;
}

int sockpath_default(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/ringside.sock", xdg);
	else
		n = snprintf(buf, len, "/tmp/ringside-%u.sock", (unsigned)getuid());
	return sockpath_put(buf, len, n);
}

int sockpath_resolve(char *buf, size_t len)
{
	const char *env = getenv(SOCKPATH_ENV);
	if (env && env[0])
		return sockpath_put(buf, len, snprintf(buf, len, "%s", env));
	return sockpath_default(buf, len);
}
