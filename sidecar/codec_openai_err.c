/*
 * codec_openai_err.c — how OpenAI-shaped providers say something went wrong
 * (see codec_openai.h): HTTP error bodies, errors inside a 2xx stream or
 * body, and replies that are not the protocol at all. Every shape in
 * shared/fixtures/NOTES.md sections 1, 5 and 7 ends here as one typed error.
 */
#include "codec_openai.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "jload.h"
#include "ringside.h"

int oa_fail(struct pc_dec *d, const struct uev_sink *s, int code, int status, int retryable,
	    const char *msg, size_t len)
{
	int rc = pc_fail(d, s, code, status, retryable, msg, len);
	return rc < 0 ? rc : 1;
}

/* The provider sent something that is not its protocol. Not retryable: the
 * codec cannot know whether anything already reached the client. */
int oa_malformed(struct pc_dec *d, const struct uev_sink *s, const char *what, const char *detail)
{
	char buf[OA_MSG_MAX];
	int n = snprintf(buf, sizeof buf, "malformed %s from provider: %s", what, detail);
	return oa_fail(d, s, RS_ERR_UPSTREAM, 0, 0, buf,
		       n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

int oa_str_is(json_t *v, const char *str)
{
	return json_is_string(v) && !strcmp(json_string_value(v), str);
}

/* ---- error objects -------------------------------------------------------------- */

/* What an error object says, wherever the provider put it. */
struct oa_err {
	const char *msg;     /* points into the parsed JSON; NULL if none */
	size_t msg_len;
	int status;          /* an HTTP status stated in the error, 0 if none */
	int overloaded;      /* the server says it is overloaded: later may work */
	int quota;           /* insufficient_quota: no retry can help */
	int server;          /* OpenAI's type server_error: a 5xx in other words */
};

/* A status: an integer (vLLM "code": 400, TGI "http_status_code": 422) or
 * Azure's string ("code": "429"). */
static int oa_status_of(json_t *v)
{
	json_int_t n = 0;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v) && json_string_length(v) == 3) {
		const char *p = json_string_value(v);
		for (int i = 0; i < 3 && n >= 0; i++)
			n = p[i] >= '0' && p[i] <= '9' ? n * 10 + (p[i] - '0') : -1;
	}
	return n >= 100 && n <= 599 ? (int)n : 0;
}

static int oa_mentions(json_t *v, const char *word)
{
	return json_is_string(v) && strstr(json_string_value(v), word);
}

/*
 * outer is the whole object: {"error":{...}} (OpenAI, vLLM, TGI chat),
 * {"error":"...","error_type":"..."} (TGI generate), {"object":"error",...}
 * (old vLLM), or {"detail":"..."} (FastAPI servers answering a wrong path).
 */
static void oa_err_parse(json_t *outer, struct oa_err *e)
{
	json_t *ev = json_object_get(outer, "error");
	json_t *o = json_is_object(ev) ? ev : outer;
	json_t *msg = json_is_string(ev) ? ev : json_object_get(o, "message");
	json_t *type = json_object_get(o, "type"), *code = json_object_get(o, "code");

	memset(e, 0, sizeof *e);
	if (!json_is_string(msg) || !json_string_length(msg))
		msg = json_object_get(outer, "detail");
	if (json_is_string(msg) && json_string_length(msg)) {
		e->msg = json_string_value(msg);
		e->msg_len = json_string_length(msg);
	}
	e->status = oa_status_of(code);
	if (!e->status)
		e->status = oa_status_of(json_object_get(o, "http_status_code"));
	if (!e->status)
		e->status = oa_status_of(json_object_get(o, "status"));
	e->quota = oa_str_is(type, "insufficient_quota") || oa_str_is(code, "insufficient_quota");
	e->overloaded = oa_mentions(type, "overloaded") || oa_mentions(code, "overloaded") ||
			oa_mentions(json_object_get(outer, "error_type"), "overloaded");
	e->server = oa_str_is(type, "server_error");
}

/* An error the provider reported inside a 2xx reply. */
int oa_fail_inband(struct pc_dec *d, const struct uev_sink *s, json_t *outer)
{
	static const char dflt[] = "provider reported an error";
	struct oa_err e;
	int code = RS_ERR_UPSTREAM, retry = 0;

	oa_err_parse(outer, &e);
	if (e.status) {
		code = pc_status_code(e.status);
		retry = pc_status_retryable(e.status);
	} else if (e.overloaded) {
		code = RS_ERR_UNAVAILABLE;
		retry = 1;
	} else {
		retry = e.server;
	}
	if (e.quota)
		retry = 0;
	if (!e.msg) {
		e.msg = dflt;
		e.msg_len = sizeof dflt - 1;
	}
	return oa_fail(d, s, code, e.status, retry, e.msg, e.msg_len);
}

/* Python's truthiness, which is what the OpenAI SDK tests "error" with. */
static int oa_truthy(json_t *v)
{
	if (!v)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_TRUE:
		return 1;
	default:
		return 0;
	}
}

int oa_is_error(json_t *o)
{
	return oa_truthy(json_object_get(o, "error")) ||
	       oa_str_is(json_object_get(o, "object"), "error");
}

/* ---- entry points ---------------------------------------------------------------- */

/* `event: error` (Assistants-style streams): JSON like any error, or text. */
int oa_event_error(struct pc_dec *d, const struct uev_sink *s, const char *data, size_t n)
{
	static const char dflt[] = "provider sent an error event";
	json_t *root = n ? jload_b(data, n, JSON_ALLOW_NUL, NULL) : NULL;
	int rc;

	if (json_is_object(root))
		rc = oa_fail_inband(d, s, root);
	else if (root || !n)
		rc = oa_fail(d, s, RS_ERR_UPSTREAM, 0, 0, dflt, sizeof dflt - 1);
	else
		rc = oa_fail(d, s, RS_ERR_UPSTREAM, 0, 0, data, n);
	json_decref(root);
	return rc;
}

int oa_on_error(struct pc_dec *d, int status, const char *body, size_t len,
		const struct uev_sink *s)
{
	json_t *root = len ? jload_b(body, len, JSON_ALLOW_NUL, NULL) : NULL;
	struct oa_err e = { 0 };
	char dflt[32];
	int rc;

	if (d->done) {
		json_decref(root);
		return 0;
	}
	if (json_is_object(root))
		oa_err_parse(root, &e);
	if (!e.msg) {
		int n = snprintf(dflt, sizeof dflt, "HTTP %d", status);
		e.msg = dflt;
		e.msg_len = n < 0 ? 0 : (size_t)n;
	}
	/* A 429 for an exhausted quota is not a rate limit: it stays until
	 * someone pays, so retrying only burns the retry budget. */
	rc = pc_fail(d, s, pc_status_code(status), status, pc_status_retryable(status) && !e.quota,
		     e.msg, e.msg_len);
	json_decref(root);
	return rc;
}
