/*
 * sse.h — incremental text/event-stream parser (WHATWG rules, as the
 * providers actually use them; see shared/fixtures/NOTES.md section 6).
 *
 * Bytes go in as they arrive from the network, split anywhere; complete
 * events come out through a callback. Lines end with CRLF, LF or a lone CR
 * (a CR at the end of a read waits for the next byte); a UTF-8 BOM at the
 * start is dropped; `:` lines are comments, skipped unbuffered whatever
 * their length; exactly one space after the colon is stripped; several
 * data lines join with LF; an event is dispatched at a blank line, and at
 * EOF leniently (flagged). Everything else is bounded by max_event: a
 * longer line or event (or a name of 64 bytes) is an error, returned by
 * the call that holds the byte crossing the bound however the stream was
 * split, never an unbounded buffer. No allocation after the buffers have
 * grown once.
 */
#ifndef RINGSIDE_SSE_H
#define RINGSIDE_SSE_H

#include <stddef.h>

/* Called per event. ev: the `event:` name (ev_len 0 when none); data: the
 * joined data lines (not NUL-terminated). Return 0, or negative to stop:
 * sse_feed then returns that value. */
typedef int (*sse_event_fn)(void *arg, const char *ev, size_t ev_len,
			    const char *data, size_t data_len);

struct sse {
	char *line;          /* current line (without terminator) */
	size_t line_len, line_cap;
	char *data;          /* data of the current event */
	size_t data_len, data_cap;
	char ev[64];         /* event name; longer names are an error */
	size_t ev_len;
	char *stray;         /* non-field lines (only with stray mode) */
	size_t stray_len, stray_cap;
	size_t max;          /* max bytes of a line, an event's data, strays */
	unsigned char state; /* BOM detection, CR handling, comment skipping */
	unsigned char have_data;
	unsigned char stray_mode;
	unsigned char unterminated; /* sse_finish dispatched a trailing event */
	size_t events;       /* events dispatched */
};

/* max_event: bound for one line and one event's data (e.g. 1 MiB).
 * stray_mode: pass lines that are no SSE field on as nameless events
 * (joined with LF) instead of ignoring them; a run of them ends at the next
 * field line (data, event, id, retry), blank line or EOF, and at a blank
 * line comes out before the event it interrupted. */
void sse_init(struct sse *p, size_t max_event, int stray_mode);
void sse_free(struct sse *p);

/* Feed bytes (buf may be NULL when len is 0). Returns 0, -EMSGSIZE (a
 * line or event over max), -ENOMEM, or the callback's negative value.
 * After an error the parser must not be fed again. */
int sse_feed(struct sse *p, const char *buf, size_t len, sse_event_fn cb, void *arg);

/* End of stream: a last line without terminator is taken as a line, and an
 * event still open is dispatched (p->unterminated = 1). Same returns. */
int sse_finish(struct sse *p, sse_event_fn cb, void *arg);

#endif
