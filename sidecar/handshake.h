/*
 * handshake.h — a freshly accepted connection until it has said what it
 * wants: HELLO (becomes a client) or STATS (gets one text reply). A
 * connection that says nothing within limits.handshake_timeout is closed.
 */
#ifndef RINGSIDE_HANDSHAKE_H
#define RINGSIDE_HANDSHAKE_H

struct srv;

/* Take ownership of an accepted socket fd. */
void hs_begin(struct srv *s, int fd);

#endif
