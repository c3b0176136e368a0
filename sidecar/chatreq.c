/*
 * chatreq.c — validation of a client's chat.completions body.
 *
 * Parsing is jansson's: it rejects invalid UTF-8, bounds nesting depth
 * (JSON_PARSER_MAX_DEPTH) and, with JSON_REJECT_DUPLICATES, duplicate keys,
 * so hostile bytes never reach the checks below as anything but a clean
 * tree. The checks then walk that tree once.
 *
 * Error messages are built only from our own field names, indexes and
 * jansson's description of a syntax error (which quotes at most 20 bytes of
 * input, and which we strip to printable ASCII): a client's prompt never
 * ends up in a log line or in another tenant's view of one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatreq.h"
#include "jload.h"

static const char *const valid_roles[] = {
	"system", "developer", "user", "assistant", "tool",
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* jansson's message may quote raw input near the error: keep it one line
 * of printable ASCII so it is safe in a log, a terminal and a JSON reply. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static uint64_t count_words(const char *s, size_t n)
{
	uint64_t words = 0;
	int in_word = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int space = chatreq_is_word_space((unsigned char)s[i]);

		if (!space && !in_word)
			words++;
		in_word = !space;
	}
	return words;
}

static int role_is_valid(const char *role)
{
	size_t i;

	for (i = 0; i < sizeof(valid_roles) / sizeof(valid_roles[0]); i++)
		if (strcmp(role, valid_roles[i]) == 0)
			return 1;
	return 0;
}

/* An array of content parts: objects with a string "type"; text parts carry
 * a string "text", which is all that counts as words. Other part types
 * (image_url, input_audio, file, ...) are for the provider to judge. */
static int check_parts(json_t *parts, size_t mi, uint64_t *words, char *err, size_t errlen)
{
	json_t *part, *type, *text;
	size_t pi;

	if (json_array_size(parts) == 0)
		return fail(err, errlen, -EINVAL,
			    "messages[%zu].content: expected at least one part", mi);
	json_array_foreach(parts, pi, part) {
		if (!json_is_object(part))
			return fail(err, errlen, -EINVAL,
				    "messages[%zu].content[%zu]: expected an object", mi, pi);
		type = json_object_get(part, "type");
		if (!json_is_string(type))
			return fail(err, errlen, -EINVAL,
				    "messages[%zu].content[%zu].type: %s", mi, pi,
				    type ? "expected a string" : "required");
		if (strcmp(json_string_value(type), "text") != 0)
			continue;
		text = json_object_get(part, "text");
		if (!json_is_string(text))
			return fail(err, errlen, -EINVAL,
				    "messages[%zu].content[%zu].text: %s", mi, pi,
				    text ? "expected a string" : "required");
		*words += count_words(json_string_value(text), json_string_length(text));
	}
	return 0;
}

/* One message. Content may be missing or null only for an assistant: that
 * is the shape of an assistant turn that only calls tools. */
static int check_message(json_t *msg, size_t mi, int *is_user, uint64_t *words,
			 char *err, size_t errlen)
{
	json_t *role, *content;
	const char *name;

	*is_user = 0;
	if (!json_is_object(msg))
		return fail(err, errlen, -EINVAL, "messages[%zu]: expected an object", mi);
	role = json_object_get(msg, "role");
	if (!role)
		return fail(err, errlen, -EINVAL, "messages[%zu].role: required", mi);
	if (!json_is_string(role) || !role_is_valid(json_string_value(role)))
		return fail(err, errlen, -EINVAL,
			    "messages[%zu].role: expected one of system, developer, user, assistant, tool",
			    mi);
	/* From here on name is one of valid_roles, safe to quote. */
	name = json_string_value(role);
	*is_user = strcmp(name, "user") == 0;

	content = json_object_get(msg, "content");
	if (json_is_string(content)) {
		*words += count_words(json_string_value(content), json_string_length(content));
		return 0;
	}
	if (json_is_array(content))
		return check_parts(content, mi, words, err, errlen);
	if (!content || json_is_null(content)) {
		if (strcmp(name, "assistant") == 0)
			return 0;
		return fail(err, errlen, -EINVAL, "messages[%zu].content: %s for role %s", mi,
			    content ? "null is not allowed" : "required", name);
	}
	return fail(err, errlen, -EINVAL,
		    "messages[%zu].content: expected a string or an array of parts", mi);
}

/* Point last_user at the text of a validated user content: the string
 * itself, the one text part, or an owned join of several text parts. */
static int take_last_user(struct chatreq *r, json_t *content)
{
	json_t *part, *text;
	size_t pi, total = 0, ntext = 0, off = 0;
	const char *one = "";

	if (json_is_string(content)) {
		r->last_user = json_string_value(content);
		r->last_user_len = json_string_length(content);
		return 0;
	}
	json_array_foreach(content, pi, part) {
		if (strcmp(json_string_value(json_object_get(part, "type")), "text") != 0)
			continue;
		text = json_object_get(part, "text");
		one = json_string_value(text);
		total += json_string_length(text);
		ntext++;
	}
	if (ntext <= 1) {
		r->last_user = one;
		r->last_user_len = total;
		return 0;
	}
	r->last_user_buf = malloc(total + 1);
	if (!r->last_user_buf)
		return -ENOMEM;
	json_array_foreach(content, pi, part) {
		if (strcmp(json_string_value(json_object_get(part, "type")), "text") != 0)
			continue;
		text = json_object_get(part, "text");
		memcpy(r->last_user_buf + off, json_string_value(text), json_string_length(text));
		off += json_string_length(text);
	}
	r->last_user_buf[off] = '\0';
	r->last_user = r->last_user_buf;
	r->last_user_len = off;
	return 0;
}

static int check_messages(struct chatreq *r, char *err, size_t errlen)
{
	json_t *msgs, *msg, *last_user = NULL;
	uint64_t words = 0;
	size_t mi;
	int rc, is_user;

	msgs = json_object_get(r->root, "messages");
	if (!msgs)
		return fail(err, errlen, -EINVAL, "messages: required");
	if (!json_is_array(msgs))
		return fail(err, errlen, -EINVAL, "messages: expected an array");
	if (json_array_size(msgs) == 0)
		return fail(err, errlen, -EINVAL, "messages: expected at least one message");
	json_array_foreach(msgs, mi, msg) {
		rc = check_message(msg, mi, &is_user, &words, err, errlen);
		if (rc)
			return rc;
		if (is_user)
			last_user = msg;
	}
	if (!last_user)
		return fail(err, errlen, -EINVAL,
			    "messages: at least one message with role user is required");
	r->prompt_words = words > UINT32_MAX ? UINT32_MAX : (uint32_t)words;
	if (take_last_user(r, json_object_get(last_user, "content")))
		return fail(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

/* An optional integer in [lo, hi] at obj[key]; *out is left alone when the
 * key is absent or null. path is how the message names the field. */
static int get_int(json_t *obj, const char *key, const char *path, long long lo,
		   long long hi, int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return fail(err, errlen, -EINVAL, "%s: expected an integer", path);
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return fail(err, errlen, -EINVAL, "%s: must be between %lld and %lld", path,
			    lo, hi);
	*out = n;
	return 0;
}

static int check_params(struct chatreq *r, char *err, size_t errlen)
{
	json_t *v;
	int64_t legacy = -1;
	int rc;

	v = json_object_get(r->root, "stream");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return fail(err, errlen, -EINVAL, "stream: expected a boolean");
		r->stream = json_is_true(v);
	}

	/* max_tokens is deprecated in favour of max_completion_tokens; when a
	 * client sends both, the newer one is what it means. Both must be valid. */
	rc = get_int(r->root, "max_tokens", "max_tokens", 1, CHATREQ_MAX_TOKENS_LIMIT,
		     &legacy, err, errlen);
	if (rc)
		return rc;
	rc = get_int(r->root, "max_completion_tokens", "max_completion_tokens", 1,
		     CHATREQ_MAX_TOKENS_LIMIT, &r->max_tokens, err, errlen);
	if (rc)
		return rc;
	if (r->max_tokens < 0)
		r->max_tokens = legacy;

	/* Unknown keys inside "mock" are ignored like unknown top-level keys. */
	v = json_object_get(r->root, "mock");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(err, errlen, -EINVAL, "mock: expected an object");
	rc = get_int(v, "tokens", "mock.tokens", 0, CHATREQ_MOCK_TOKENS_LIMIT,
		     &r->mock_tokens, err, errlen);
	if (rc)
		return rc;
	rc = get_int(v, "ttft_us", "mock.ttft_us", 0, CHATREQ_MOCK_TIME_LIMIT_US,
		     &r->mock_ttft_us, err, errlen);
	if (rc)
		return rc;
	return get_int(v, "interval_us", "mock.interval_us", 0, CHATREQ_MOCK_TIME_LIMIT_US,
		       &r->mock_interval_us, err, errlen);
}

int chatreq_parse(struct chatreq *r, const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	int rc;

	memset(r, 0, sizeof(*r));
	r->max_tokens = -1;
	r->mock_tokens = r->mock_ttft_us = r->mock_interval_us = -1;
	if (err && errlen > 0)
		err[0] = '\0';

	/* jload builds json_loadb's tree in a third of the time; what it
	 * declines, json_loadb parses or explains (jload.h). */
	r->root = jload_b(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r->root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return fail(err, errlen, -ENOMEM, "out of memory");
		/* jansson words this one in terms of its own flag; say what the
		 * client can act on instead. */
		if (json_error_code(&jerr) == json_error_null_character)
			snprintf(jerr.text, sizeof(jerr.text), "\\u0000 is not allowed in strings");
		printable(jerr.text);
		return fail(err, errlen, -EINVAL, "body: invalid JSON at line %d column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(r->root)) {
		rc = fail(err, errlen, -EINVAL, "body: expected a JSON object");
		goto fail;
	}
	rc = check_messages(r, err, errlen);
	if (rc)
		goto fail;
	rc = check_params(r, err, errlen);
	if (rc)
		goto fail;
	return 0;

fail:
	chatreq_free(r);
	return rc;
}

void chatreq_free(struct chatreq *r)
{
	json_decref(r->root);
	free(r->last_user_buf);
	memset(r, 0, sizeof(*r));
}
