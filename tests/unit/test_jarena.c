/*
 * test_jarena.c — the jansson arena (sidecar/jarena.h): scope memory is
 * reset, heap objects cross scopes untouched whichever side allocated or
 * freed them, an overflowing scope falls back to malloc and the next one
 * gets a block that fits, and every recorded stream decodes inside scopes
 * exactly as it does on malloc, with no allocation once the arena settled.
 *
 * Each test runs in its own process (criterion forks), so "before
 * jarena_init" means what it says.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx.h"
#include "jarena.h"
#include "ndjson.h"
#include "pcodec.h"
#include "sse.h"

static const char jt_doc[] =
	"{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}],"
	"\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5}}";

/* Bound for one event in these runs: larger than any fixture's. */
#define JT_MAX_EVENT (1u << 20)
/* Strings the overflow test allocates in one scope: 40 x 16 KiB is well
 * past the initial 256 KiB block. */
#define JT_BIG_N 40
#define JT_BIG_LEN (16u << 10)

static json_t *jt_load(void)
{
	json_t *o = json_loads(jt_doc, 0, NULL);

	cr_assert_not_null(o);
	return o;
}

static void jt_check_doc(json_t *o)
{
	json_t *c = json_object_get(json_array_get(json_object_get(o, "choices"), 0), "delta");

	cr_assert_str_eq(json_string_value(json_object_get(c, "content")), "hello");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "usage"), "completion_tokens")),
		     5);
}

Test(jarena, scope_memory_is_reset_at_the_end)
{
	struct jarena_stats a, b;
	json_t *o, *again;

	jarena_init();
	jarena_stats(&a);
	jarena_begin();
	o = jt_load();
	cr_assert(jarena_owns(o));
	jt_check_doc(o);
	json_decref(o);
	jarena_end();
	/* The same allocations in the next scope land at the same place. */
	jarena_begin();
	again = jt_load();
	cr_assert_eq(again, o);
	jt_check_doc(again);
	json_decref(again);
	jarena_end();
	jarena_stats(&b);
	cr_assert_eq(b.scopes - a.scopes, 2);
	cr_assert_eq(b.fallbacks, a.fallbacks);
	cr_assert_gt(b.high_water, 0);
	cr_assert_gt(b.size, 0);
}

Test(jarena, heap_objects_survive_scopes)
{
	json_t *outside, *inside;
	char *before, *after;

	jarena_init();
	outside = jt_load();
	cr_assert_not(jarena_owns(outside));
	before = json_dumps(outside, JSON_COMPACT);
	for (int i = 0; i < 3; i++) {
		jarena_begin();
		inside = jt_load();
		cr_assert(jarena_owns(inside));
		jt_check_doc(outside);
		json_decref(inside);
		jarena_end();
	}
	after = json_dumps(outside, JSON_COMPACT);
	cr_assert_str_eq(after, before);
	free(before);
	free(after);
	json_decref(outside);
}

/* jansson's functions are process-wide: what it malloc'd before the arena
 * existed must still reach free(), inside a scope or out of it (a no-op
 * instead would be a leak the sanitizer and valgrind runs report). */
Test(jarena, objects_from_before_init_are_freed)
{
	json_t *in_scope = jt_load(), *out_of_scope = jt_load();

	jarena_init();
	cr_assert_not(jarena_owns(in_scope));
	cr_assert_not(jarena_owns(out_of_scope));
	jarena_begin();
	jt_check_doc(in_scope);
	json_decref(in_scope);
	jarena_end();
	jt_check_doc(out_of_scope);
	json_decref(out_of_scope);
}

/* Heap objects freed inside a scope, arena objects that reference heap
 * ones, and nested scopes (only the outermost end resets). */
Test(jarena, mixed_and_nested)
{
	json_t *heap = jt_load(), *shared = json_string("kept"), *a, *b, *c;
	struct jarena_stats s0, s1;

	jarena_init();
	jarena_stats(&s0);
	jarena_begin();
	a = json_object();
	cr_assert(jarena_owns(a));
	cr_assert_eq(json_object_set(a, "s", shared), 0);
	json_decref(heap);
	jarena_begin();
	b = jt_load();
	jarena_end();
	/* Still inside the outer scope: b is alive and new memory is past it. */
	jt_check_doc(b);
	cr_assert(jarena_owns(b));
	c = json_object();
	cr_assert_gt((uintptr_t)c, (uintptr_t)b);
	json_decref(c);
	json_decref(b);
	json_decref(a);
	jarena_end();
	jarena_end(); /* unbalanced: ignored */
	cr_assert_str_eq(json_string_value(shared), "kept");
	cr_assert_eq(shared->refcount, 1);
	json_decref(shared);
	jarena_stats(&s1);
	cr_assert_eq(s1.scopes - s0.scopes, 1);
	cr_assert_eq(s1.fallbacks, s0.fallbacks);
}

static void jt_big_scope(char *text, json_t **v, unsigned *owned)
{
	jarena_begin();
	*owned = 0;
	for (unsigned i = 0; i < JT_BIG_N; i++) {
		v[i] = json_stringn(text, JT_BIG_LEN);
		cr_assert_not_null(v[i]);
		/* The text, not the small json_t: those still fit after
		 * the texts overflowed. */
		*owned += (unsigned)jarena_owns(json_string_value(v[i]));
	}
	for (unsigned i = 0; i < JT_BIG_N; i++) {
		cr_assert_eq(json_string_length(v[i]), JT_BIG_LEN);
		json_decref(v[i]);
	}
	jarena_end();
}

Test(jarena, overflow_falls_back_then_the_arena_grows)
{
	char *text = malloc(JT_BIG_LEN);
	json_t *v[JT_BIG_N];
	struct jarena_stats s0, s1, s2, s3;
	unsigned owned;

	cr_assert_not_null(text);
	memset(text, 'x', JT_BIG_LEN);
	jarena_init();
	jarena_stats(&s0);
	jt_big_scope(text, v, &owned);
	jarena_stats(&s1);
	cr_assert_gt(owned, 0);
	cr_assert_lt(owned, JT_BIG_N);
	cr_assert_geq(s1.fallbacks - s0.fallbacks, JT_BIG_N - owned);
	/* No block is replaced while anything might live in it. */
	cr_assert_eq(s1.size, s0.size);
	cr_assert_eq(s1.grows, s0.grows);

	jt_big_scope(text, v, &owned);
	jarena_stats(&s2);
	cr_assert_eq(owned, JT_BIG_N);
	cr_assert_gt(s2.size, s1.size);
	cr_assert_geq(s2.size, (size_t)JT_BIG_N * JT_BIG_LEN);
	cr_assert_eq(s2.grows, s1.grows + 1);
	cr_assert_eq(s2.fallbacks, s1.fallbacks);

	jt_big_scope(text, v, &owned);
	jarena_stats(&s3);
	cr_assert_eq(s3.fallbacks, s2.fallbacks);
	cr_assert_eq(s3.size, s2.size);
	free(text);
}

/* ---- every recorded stream, in scopes ------------------------------------------- */

/* A sink that records nothing but a digest of what it was told, so it
 * allocates nothing of its own. */
struct jt_run {
	struct pc_dec *d;
	const struct uev_sink *s;
	int arena;        /* wrap each on_event in a scope, as http.c does */
	uint64_t hash;    /* FNV-1a of every sink call and its bytes */
	unsigned events;  /* on_event calls */
	unsigned ends;    /* finish + error */
};

static void jt_mix(struct jt_run *r, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		r->hash = (r->hash ^ b[i]) * 0x100000001b3ull;
}

static void jt_mix_str(struct jt_run *r, const char *p, size_t n)
{
	jt_mix(r, &n, sizeof n);
	if (n)
		jt_mix(r, p, n);
}

static int jt_text(void *arg, enum uev_text kind, const char *p, size_t n)
{
	struct jt_run *r = arg;

	jt_mix(r, "t", 1);
	jt_mix(r, &kind, sizeof kind);
	jt_mix_str(r, p, n);
	return 0;
}

static int jt_tool(void *arg, uint32_t index, const char *id, size_t id_len, const char *name,
		   size_t name_len, const char *args, size_t args_len)
{
	struct jt_run *r = arg;

	jt_mix(r, "c", 1);
	jt_mix(r, &index, sizeof index);
	jt_mix_str(r, id, id_len);
	jt_mix_str(r, name, name_len);
	jt_mix_str(r, args, args_len);
	return 0;
}

static int jt_usage(void *arg, uint32_t prompt, uint32_t completion)
{
	struct jt_run *r = arg;

	jt_mix(r, "u", 1);
	jt_mix(r, &prompt, sizeof prompt);
	jt_mix(r, &completion, sizeof completion);
	return 0;
}

static int jt_finish(void *arg, const char *reason, const char *raw)
{
	struct jt_run *r = arg;

	r->ends++;
	jt_mix(r, "f", 1);
	jt_mix_str(r, reason, strlen(reason));
	jt_mix_str(r, raw, strlen(raw));
	return 0;
}

static int jt_error(void *arg, int code, int status, int retryable, const char *msg, size_t n)
{
	struct jt_run *r = arg;

	r->ends++;
	jt_mix(r, "e", 1);
	jt_mix(r, &code, sizeof code);
	jt_mix(r, &status, sizeof status);
	jt_mix(r, &retryable, sizeof retryable);
	jt_mix_str(r, msg, n);
	return 0;
}

static int jt_event(struct jt_run *r, const char *ev, size_t ev_len, const char *data, size_t n)
{
	int rc;

	r->events++;
	if (r->arena)
		jarena_begin();
	rc = r->d->codec->on_event(r->d, ev, ev_len, data, n, r->s);
	if (r->arena)
		jarena_end();
	return rc;
}

static int jt_on_sse(void *arg, const char *ev, size_t ev_len, const char *data, size_t n)
{
	return jt_event(arg, ev, ev_len, data, n);
}

static int jt_on_line(void *arg, const char *line, size_t n)
{
	return jt_event(arg, NULL, 0, line, n);
}

/* One whole stream through its framing and codec, as http.c runs it. */
static void jt_stream(const struct pc_codec *c, enum pc_format fmt, const char *data, size_t len,
		      int arena, struct jt_run *r)
{
	struct uev_sink s = { .text = jt_text, .tool = jt_tool, .usage = jt_usage,
			      .finish = jt_finish, .error = jt_error };
	struct pc_dec d = { .codec = c };
	struct sse sp;
	struct ndjson np;
	int rc;

	memset(r, 0, sizeof *r);
	r->hash = 0xcbf29ce484222325ull;
	r->d = &d;
	r->s = &s;
	r->arena = arena;
	s.arg = r;
	cr_assert_eq(c->dec_init(&d), 0);
	sse_init(&sp, JT_MAX_EVENT, !!(c->flags & PC_SSE_STRAY));
	ndjson_init(&np, JT_MAX_EVENT);
	rc = fmt == PC_FMT_SSE ? sse_feed(&sp, data, len, jt_on_sse, r)
			       : ndjson_feed(&np, data, len, jt_on_line, r);
	if (!rc)
		rc = fmt == PC_FMT_SSE ? sse_finish(&sp, jt_on_sse, r)
				       : ndjson_finish(&np, jt_on_line, r);
	if (!rc)
		rc = c->on_end(&d, &s);
	cr_assert_eq(rc, 0);
	cr_assert_eq(r->ends, 1);
	sse_free(&sp);
	ndjson_free(&np);
	c->dec_free(&d);
}

static const struct pc_codec *jt_codec_for(const char *name)
{
	static const struct {
		const char *prefix;
		const struct pc_codec *codec;
	} map[] = {
		{ "openai_", &pc_openai },
		{ "anthropic_", &pc_anthropic },
		{ "gemini_", &pc_gemini },
		{ "ollama_", &pc_ollama },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strncmp(name, map[i].prefix, strlen(map[i].prefix)))
			return map[i].codec;
	return NULL;
}

#define JT_MAX_FIXTURES 64

struct jt_fixture {
	const struct pc_codec *codec;
	enum pc_format fmt;
	char *data;
	size_t len;
	uint64_t hash; /* decoded on malloc */
};

static size_t jt_fixtures(struct jt_fixture *fx, size_t cap)
{
	char dir[512], path[512];
	struct dirent *e;
	size_t n = 0;
	DIR *dp = opendir(fx_path("", dir, sizeof dir));

	cr_assert_not_null(dp, "cannot open %s", dir);
	while ((e = readdir(dp))) {
		const char *dot = strrchr(e->d_name, '.');
		if (!dot || (strcmp(dot, ".sse") && strcmp(dot, ".ndjson")))
			continue;
		cr_assert_lt(n, cap);
		fx[n].codec = jt_codec_for(e->d_name);
		cr_assert_not_null(fx[n].codec, "no codec for fixture %s", e->d_name);
		fx[n].fmt = strcmp(dot, ".sse") ? PC_FMT_NDJSON : PC_FMT_SSE;
		fx[n].data = fx_read(fx_path(e->d_name, path, sizeof path), &fx[n].len);
		cr_assert_not_null(fx[n].data, "cannot read %s", path);
		n++;
	}
	closedir(dp);
	return n;
}

/*
 * Every *.sse and *.ndjson fixture, twice, with every event in a scope: the
 * events decode to exactly what they decode to on malloc, and the second
 * pass needs no allocation the arena cannot serve.
 */
Test(jarena, fixtures_decode_the_same_and_settle_without_fallbacks)
{
	struct jt_fixture fx[JT_MAX_FIXTURES];
	struct jarena_stats first, second;
	struct jt_run r;
	unsigned events = 0;
	size_t n = jt_fixtures(fx, JT_MAX_FIXTURES);

	cr_assert_geq(n, 10, "only %zu stream fixtures found", n);
	for (size_t i = 0; i < n; i++) {
		jt_stream(fx[i].codec, fx[i].fmt, fx[i].data, fx[i].len, 0, &r);
		fx[i].hash = r.hash;
	}
	for (size_t i = 0; i < n; i++) {
		jt_stream(fx[i].codec, fx[i].fmt, fx[i].data, fx[i].len, 1, &r);
		cr_assert_eq(r.hash, fx[i].hash, "fixture %zu decodes differently in the arena", i);
	}
	jarena_stats(&first);
	for (size_t i = 0; i < n; i++) {
		jt_stream(fx[i].codec, fx[i].fmt, fx[i].data, fx[i].len, 1, &r);
		cr_assert_eq(r.hash, fx[i].hash);
		events += r.events;
	}
	jarena_stats(&second);
	cr_assert_eq(second.scopes - first.scopes, events);
	cr_assert_eq(second.fallbacks, first.fallbacks, "%llu allocations fell back to malloc",
		     (unsigned long long)(second.fallbacks - first.fallbacks));
	cr_assert_gt(second.high_water, 0);
	for (size_t i = 0; i < n; i++)
		free(fx[i].data);
}

/* An OpenAI-compatible server that sends tool arguments parsed: the codec
 * serializes them inside the scope and must release that text through
 * jansson, not free() (which would be handed an arena pointer). The same
 * for Gemini and Ollama, whose arguments always arrive parsed. */
Test(jarena, parsed_tool_arguments_in_a_scope)
{
	static const char oa[] =
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
		"\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]}}]}\n\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
		"data: [DONE]\n\n";
	static const char gm[] =
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\","
		"\"args\":{\"a\":1}}}]},\"finishReason\":\"STOP\"}]}\n\n";
	static const char ol[] =
		"{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":"
		"{\"name\":\"f\",\"arguments\":{\"a\":1}}}]},\"done\":true,\"done_reason\":\"stop\"}\n";
	struct jt_run heap, arena;

	jt_stream(&pc_openai, PC_FMT_SSE, oa, sizeof oa - 1, 0, &heap);
	jt_stream(&pc_openai, PC_FMT_SSE, oa, sizeof oa - 1, 1, &arena);
	cr_assert_eq(arena.hash, heap.hash);
	jt_stream(&pc_gemini, PC_FMT_SSE, gm, sizeof gm - 1, 0, &heap);
	jt_stream(&pc_gemini, PC_FMT_SSE, gm, sizeof gm - 1, 1, &arena);
	cr_assert_eq(arena.hash, heap.hash);
	jt_stream(&pc_ollama, PC_FMT_NDJSON, ol, sizeof ol - 1, 0, &heap);
	jt_stream(&pc_ollama, PC_FMT_NDJSON, ol, sizeof ol - 1, 1, &arena);
	cr_assert_eq(arena.hash, heap.hash);
}
