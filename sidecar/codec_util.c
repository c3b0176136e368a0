/*
 * codec_util.c — helpers shared by the Gemini and Ollama codecs (see
 * codec_util.h).
 */
#include "codec_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chatreq.h"
#include "config.h"
#include "jdump.h"
#include "jload.h"

int cu_einval(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int cu_check_target(const struct pc_target *t, const struct chatreq *req, char *err, size_t errlen)
{
	const struct cfg_provider *p = t ? t->prov : NULL;

	if (!p || !p->base_url || !*p->base_url)
		return cu_einval(err, errlen, "provider has no base_url");
	if (!t->model || !*t->model)
		return cu_einval(err, errlen, "no upstream model name");
	if (p->api_key) {
		/* A CR or LF in a configured secret would smuggle extra
		 * header lines into every request. Say what is wrong, never
		 * what the key is. */
		for (const char *k = p->api_key; *k; k++)
			if ((unsigned char)*k < 0x20 || *k == 0x7f)
				return cu_einval(err, errlen,
						 "api_key contains control characters");
	}
	if (!req || !json_is_object(req->root))
		return cu_einval(err, errlen, "request body is not a JSON object");
	return 0;
}

char *cu_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1);
	char *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = 0;
	return out;
}

int cu_put(json_t *obj, const char *key, json_t *val)
{
	return json_object_set_new(obj, key, val) ? -ENOMEM : 0;
}

int cu_push(json_t *arr, json_t *val)
{
	return json_array_append_new(arr, val) ? -ENOMEM : 0;
}

int cu_set_body(struct pc_http *out, json_t *body)
{
	out->body = jdump(body, &out->body_len);
	if (!out->body)
		return -ENOMEM;
	return 0;
}

int cu_data_url(const char *url, size_t len, struct cu_data_url *d)
{
	const char *end = url + len, *comma, *semi;

	if (len < 5 || strncasecmp(url, "data:", 5))
		return -EINVAL;
	url += 5;
	comma = memchr(url, ',', (size_t)(end - url));
	if (!comma || comma + 1 == end)
		return -EINVAL;
	/* The last parameter before the comma must be ";base64": both
	 * providers take the bytes base64-encoded, as data URLs carry them. */
	if (comma - url < 7 || strncasecmp(comma - 7, ";base64", 7))
		return -EINVAL;
	semi = memchr(url, ';', (size_t)(comma - url));
	if (semi == url)
		return -EINVAL;
	d->mime = url;
	d->mime_len = (size_t)(semi - url);
	d->b64 = comma + 1;
	d->b64_len = (size_t)(end - d->b64);
	return 0;
}

int cu_is_http_url(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

int cu_text(json_t *msg, size_t mi, const char *prov, json_t **out, char *err, size_t errlen)
{
	json_t *content = json_object_get(msg, "content"), *part;
	const char *role = json_string_value(json_object_get(msg, "role"));
	size_t pi, total = 0, off = 0;
	char *buf;

	*out = NULL;
	if (json_is_string(content)) {
		*out = json_incref(content);
		return 0;
	}
	if (!json_is_array(content)) {
		*out = json_string("");
		return *out ? 0 : -ENOMEM;
	}
	/* chatreq checked every part is an object with a string type, and
	 * that text parts carry a string text. */
	json_array_foreach(content, pi, part) {
		const char *type = json_string_value(json_object_get(part, "type"));
		json_t *t = json_object_get(part, !strcmp(type, "refusal") ? "refusal" : "text");
		if ((strcmp(type, "text") && strcmp(type, "refusal")) || !json_is_string(t))
			return cu_einval(
				err, errlen,
				"messages[%zu].content[%zu]: %s does not take this part type for role %s",
				mi, pi, prov, role ? role : "?");
		total += json_string_length(t) + 1;
	}
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	json_array_foreach(content, pi, part) {
		const char *type = json_string_value(json_object_get(part, "type"));
		json_t *t = json_object_get(part, !strcmp(type, "refusal") ? "refusal" : "text");
		if (pi)
			buf[off++] = '\n';
		memcpy(buf + off, json_string_value(t), json_string_length(t));
		off += json_string_length(t);
	}
	*out = json_stringn_nocheck(buf, off);
	free(buf);
	return *out ? 0 : -ENOMEM;
}

/* Did a jansson parse fail for want of memory? Some of its allocation
 * failures (a key that cannot be inserted) leave the error "unknown"
 * rather than "out of memory"; every input error has a code of its own. */
static int cu_json_nomem(const json_error_t *je)
{
	enum json_error_code c = json_error_code(je);

	return c == json_error_out_of_memory || c == json_error_unknown;
}

int cu_tool_call(json_t *call, size_t mi, size_t ci, const char **name, json_t **args, char *err,
		 size_t errlen)
{
	json_t *type = json_object_get(call, "type"), *fn, *a;

	*args = NULL;
	if (!json_is_object(call))
		return cu_einval(err, errlen, "messages[%zu].tool_calls[%zu]: expected an object",
				 mi, ci);
	if (type && !json_is_null(type) &&
	    (!json_is_string(type) || strcmp(json_string_value(type), "function")))
		return cu_einval(
			err, errlen,
			"messages[%zu].tool_calls[%zu].type: only \"function\" is supported", mi,
			ci);
	fn = json_object_get(call, "function");
	*name = json_string_value(json_object_get(fn, "name"));
	if (!*name || !**name)
		return cu_einval(err, errlen,
				 "messages[%zu].tool_calls[%zu].function.name: required", mi, ci);
	a = json_object_get(fn, "arguments");
	if (json_is_object(a)) {
		*args = json_incref(a);
		return 0;
	}
	if (!a || json_is_null(a) ||
	    (json_is_string(a) &&
	     strspn(json_string_value(a), " \t\r\n") == json_string_length(a))) {
		*args = json_object();
		return *args ? 0 : -ENOMEM;
	}
	if (json_is_string(a)) {
		/* jansson leaves the code unset when it fails before parsing. */
		json_error_t je = { .line = 0 };
		*args = jload_b(json_string_value(a), json_string_length(a), 0, &je);
		if (!*args && cu_json_nomem(&je))
			return -ENOMEM;
	}
	if (!json_is_object(*args)) {
		json_decref(*args);
		*args = NULL;
		return cu_einval(
			err, errlen,
			"messages[%zu].tool_calls[%zu].function.arguments: expected a JSON object",
			mi, ci);
	}
	return 0;
}

const char *cu_tool_call_name(json_t *messages, size_t mi, const char *id)
{
	/* Backwards, so an id a client reuses in a later turn resolves to
	 * the call it answers. */
	while (mi-- > 0) {
		json_t *m = json_array_get(messages, mi), *calls = json_object_get(m, "tool_calls"),
		       *c;
		size_t ci;
		json_array_foreach(calls, ci, c) {
			const char *cid = json_string_value(json_object_get(c, "id"));
			const char *name = json_string_value(
				json_object_get(json_object_get(c, "function"), "name"));
			if (cid && name && *name && !strcmp(cid, id))
				return name;
		}
	}
	return NULL;
}

int cu_opt_number(json_t *root, const char *key, json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return cu_einval(err, errlen, "%s: expected a number", key);
	*out = json_incref(v);
	return 0;
}

int cu_opt_integer(json_t *root, const char *key, json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return cu_einval(err, errlen, "%s: expected an integer", key);
	*out = json_incref(v);
	return 0;
}

int cu_opt_stop(json_t *root, json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, "stop"), *s;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (!json_string_length(v))
			return 0;
		*out = json_array();
		return *out ? cu_push(*out, json_incref(v)) : -ENOMEM;
	}
	if (!json_is_array(v))
		return cu_einval(err, errlen, "stop: expected a string or an array of strings");
	json_array_foreach(v, i, s)
		if (!json_is_string(s) || !json_string_length(s))
			return cu_einval(err, errlen, "stop[%zu]: expected a non-empty string", i);
	if (json_array_size(v))
		*out = json_incref(v);
	return 0;
}

int cu_check_n(json_t *root, const char *prov, char *err, size_t errlen)
{
	json_t *n = json_object_get(root, "n");

	if (!n || json_is_null(n) || (json_is_integer(n) && json_integer_value(n) == 1))
		return 0;
	return cu_einval(err, errlen, "n: %s returns one choice; only n=1 is supported", prov);
}

int cu_response_format(json_t *root, json_t **schema, char *err, size_t errlen)
{
	json_t *rf = json_object_get(root, "response_format");
	const char *type;

	*schema = NULL;
	if (!rf || json_is_null(rf))
		return CU_RF_NONE;
	type = json_string_value(json_object_get(rf, "type"));
	if (!type)
		return cu_einval(err, errlen, "response_format.type: required");
	if (!strcmp(type, "text"))
		return CU_RF_NONE;
	if (!strcmp(type, "json_object"))
		return CU_RF_JSON;
	if (strcmp(type, "json_schema"))
		return cu_einval(err, errlen,
				 "response_format.type: expected text, json_object or json_schema");
	*schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
	if (!json_is_object(*schema))
		return cu_einval(err, errlen,
				 "response_format.json_schema.schema: expected an object");
	return CU_RF_SCHEMA;
}

json_t *cu_parse(const char *data, size_t len, int *nomem)
{
	/* jansson leaves the code unset when it fails before parsing. */
	json_error_t je = { .line = 0 };
	json_t *v = jload_b(data, len, JSON_ALLOW_NUL, &je);

	if (nomem)
		*nomem = !v && cu_json_nomem(&je);
	return v;
}

uint32_t cu_u32(json_t *v)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	return n < 0 ? 0 : n > (json_int_t)UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

int cu_fail(struct pc_dec *d, const struct uev_sink *s, int code, int status, int retryable,
	    const char *fmt, ...)
{
	/* pc_fail keeps at most 255 bytes of a message anyway. */
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	return pc_fail(d, s, code, status, retryable, msg,
		       (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

int cu_tool_event(const struct uev_sink *s, uint32_t index, json_t *id, const char *name,
		  size_t name_len, json_t *args)
{
	char made[32];
	const char *idp = made;
	size_t id_len;
	char *dumped = NULL;
	const char *ap = "{}";
	size_t alen = 2;
	int rc;

	if (json_is_string(id) && json_string_length(id)) {
		idp = json_string_value(id);
		id_len = json_string_length(id);
	} else {
		id_len = (size_t)snprintf(made, sizeof made, "call_%u", index);
	}
	if (json_is_string(args)) {
		ap = json_string_value(args);
		alen = json_string_length(args);
	} else if (args && !json_is_null(args)) {
		dumped = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!dumped)
			return -ENOMEM;
		ap = dumped;
		alen = strlen(dumped);
	}
	rc = s->tool(s->arg, index, idp, id_len, name, name_len, ap, alen);
	if (dumped) {
		/* json_dumps allocates with jansson's functions; inside a
		 * jarena scope that is arena memory, which free() must not see. */
		json_free_t jfree;
		json_get_alloc_funcs(NULL, &jfree);
		jfree(dumped);
	}
	return rc;
}
