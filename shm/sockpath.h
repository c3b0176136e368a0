/*
 * sockpath.h — where the sidecar listens unless told otherwise. Shared by the
 * sidecar and libringside so the two always agree.
 */
#ifndef RINGSIDE_SHM_SOCKPATH_H
#define RINGSIDE_SHM_SOCKPATH_H

#include <stddef.h>

/* Environment variable that overrides the socket path on both sides. */
#define SOCKPATH_ENV "RINGSIDE_SOCKET"

/* Longest path a sockaddr_un can hold, NUL included. */
#define SOCKPATH_MAX 108

/* $XDG_RUNTIME_DIR/ringside.sock when XDG_RUNTIME_DIR is set and absolute,
 * else /tmp/ringside-<uid>.sock. Returns 0, or -ENAMETOOLONG. */
int sockpath_default(char *buf, size_t len);

/* $RINGSIDE_SOCKET when set and non-empty, else sockpath_default. */
int sockpath_resolve(char *buf, size_t len);

#endif
