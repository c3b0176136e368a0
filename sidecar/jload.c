/*
 * jload.c — jansson trees from jscan's walk (see jload.h).
 */
#include "jload.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

/* Escaped strings up to this many bytes decode on the stack. */
#define JL_STACK_TEXT 256

static const size_t jl_flags_known = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;

/* A string's bytes, decoded: in place when it has no escape, else into
 * stack (if it fits) or *heap, from jansson's allocator, so a decoder's
 * jarena scope (jarena.h) serves it without a malloc per event. NULL on
 * failure; release *heap with jl_text_free. */
static const char *jl_text(const struct js_str *s, char *stack, char **heap, size_t *n)
{
	if (!s->esc) {
		*n = s->n;
		return s->p;
	}
	/* Escapes only shrink: a decoded string is never longer than sent. */
	char *buf = stack;
	if (s->n > JL_STACK_TEXT) {
		json_malloc_t alloc;
		json_get_alloc_funcs(&alloc, NULL);
		buf = *heap = alloc(s->n);
		if (!buf)
			return NULL;
	}
	*n = js_unescape(s, buf, s->n > JL_STACK_TEXT ? s->n : JL_STACK_TEXT);
	return buf;
}

static void jl_text_free(char *heap)
{
	json_free_t release;

	if (!heap)
		return;
	json_get_alloc_funcs(NULL, &release);
	release(heap);
}

static json_t *jl_string(struct js *j, size_t flags)
{
	struct js_str s;
	char stack[JL_STACK_TEXT], *heap = NULL;
	size_t n;

	if (js_string(j, &s))
		return NULL;
	const char *t = jl_text(&s, stack, &heap, &n);
	json_t *v = NULL;
	/* Without JSON_ALLOW_NUL json_loadb refuses a \u0000 in a string. */
	if (t && (flags & JSON_ALLOW_NUL || !s.esc || !memchr(t, 0, n)))
		v = json_stringn_nocheck(t, n); /* jscan validated the UTF-8 */
	jl_text_free(heap);
	return v;
}

/* A real as jansson's jsonp_strtod converts it: strtod on the text, which
 * jscan has checked cannot overflow. */
static json_t *jl_real(const char *start, const char *end)
{
	char buf[JL_REAL_MAX + 1];
	size_t n = (size_t)(end - start);
	const char *dp = localeconv()->decimal_point;

	if (n > JL_REAL_MAX || !dp || strcmp(dp, "."))
		return NULL;
	memcpy(buf, start, n);
	buf[n] = 0;
	errno = 0;
	char *stop;
	double d = strtod(buf, &stop);
	if (stop != buf + n || (errno == ERANGE && (d > 1 || d < -1)))
		return NULL;
	return json_real(d);
}

static json_t *jl_value(struct js *j, size_t flags);

static json_t *jl_object(struct js *j, size_t flags)
{
	json_t *o = json_object();
	struct js_str k;
	int r;

	if (!o || js_object(j))
		goto fail;
	while ((r = js_member(j, &k)) == 1) {
		char stack[JL_STACK_TEXT], *heap = NULL;
		size_t kn;
		const char *key = jl_text(&k, stack, &heap, &kn);
		json_t *v = key ? jl_value(j, flags) : NULL;
		int bad = !v;
		/* jscan refuses \u0000 in keys, as jansson does. A duplicate
		 * replaces the value and keeps the key's first place, as in
		 * json_loadb, unless duplicates are refused. */
		if (!bad && flags & JSON_REJECT_DUPLICATES && json_object_getn(o, key, kn)) {
			json_decref(v);
			bad = 1;
		} else if (!bad && json_object_setn_new_nocheck(o, key, kn, v)) {
			bad = 1; /* a _new setter releases v even when it fails */
		}
		jl_text_free(heap);
		if (bad)
			goto fail;
	}
	if (r < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *jl_array(struct js *j, size_t flags)
{
	json_t *a = json_array();
	int r;

	if (!a || js_array(j))
		goto fail;
	while ((r = js_element(j)) == 1) {
		json_t *v = jl_value(j, flags);
		/* append_new releases v when it fails */
		if (!v || json_array_append_new(a, v))
			goto fail;
	}
	if (r < 0)
		goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

static json_t *jl_value(struct js *j, size_t flags)
{
	switch (js_peek(j)) {
	case JS_OBJECT:
		return jl_object(j, flags);
	case JS_ARRAY:
		return jl_array(j, flags);
	case JS_STRING:
		return jl_string(j, flags);
	case JS_NUMBER: {
		const char *start = j->p;
		int64_t iv;
		enum js_num k = js_number(j, &iv);
		if (k == JS_NUM_INT)
			return json_integer((json_int_t)iv);
		return k == JS_NUM_REAL ? jl_real(start, j->p) : NULL;
	}
	case JS_TRUE:
		return js_skip(j) ? NULL : json_true();
	case JS_FALSE:
		return js_skip(j) ? NULL : json_false();
	case JS_NULL:
		return js_skip(j) ? NULL : json_null();
	case JS_BAD:
		break;
	}
	return NULL;
}

json_t *jload(const char *s, size_t n, size_t flags)
{
	struct js j;

	if (!s || flags & ~jl_flags_known)
		return NULL;
	js_init(&j, s, n);
	enum js_type top = js_peek(&j);
	if (!(flags & JSON_DECODE_ANY) && top != JS_OBJECT && top != JS_ARRAY)
		return NULL;
	json_t *v = jl_value(&j, flags);
	if (v && js_end(&j)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *jload_b(const char *s, size_t n, size_t flags, json_error_t *err)
{
	json_t *v = jload(s, n, flags);
	return v ? v : json_loadb(s ? s : "", s ? n : 0, flags, err);
}
