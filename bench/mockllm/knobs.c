/*
 * knobs.c — parsing `key=value,...` knob lists (see knobs.h).
 */
#include "knobs.h"

#include <stdio.h>
#include <string.h>

/* Upper bound of numeric knobs: ~31 years in µs, far above any test. */
#define ML_KNOB_MAX 1000000000000000L

enum knob_kind { KNOB_NUM, KNOB_STATUS, KNOB_PCT, KNOB_TOOL };

struct knob_def {
	const char *name;
	enum knob_kind kind;
	size_t off; /* offsetof the long in struct ml_knobs */
};

#define KNOB(n, kind) { #n, kind, offsetof(struct ml_knobs, n) }

static const struct knob_def knob_defs[] = {
	KNOB(tokens, KNOB_NUM),
	KNOB(ttft_us, KNOB_NUM),
	KNOB(itl_us, KNOB_NUM),
	KNOB(slow_headers_us, KNOB_NUM),
	KNOB(status, KNOB_STATUS),
	KNOB(retry_after, KNOB_NUM),
	KNOB(retry_after_ms, KNOB_NUM),
	KNOB(reset_after, KNOB_NUM),
	KNOB(stall_after, KNOB_NUM),
	KNOB(malformed_after, KNOB_NUM),
	KNOB(error_after, KNOB_NUM),
	KNOB(fail_pct, KNOB_PCT),
	KNOB(seed, KNOB_NUM),
	KNOB(chaos, KNOB_PCT),
	KNOB(tool, KNOB_TOOL),
};

void ml_knobs_init(struct ml_knobs *k)
{
	for (size_t i = 0; i < sizeof knob_defs / sizeof knob_defs[0]; i++)
		if (knob_defs[i].kind != KNOB_TOOL)
			*(long *)((char *)k + knob_defs[i].off) = ML_UNSET;
	k->tool[0] = 0;
	k->chaos_fault = ML_UNSET;
}

static int parse_num(const char *s, size_t n, long *out)
{
	long v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > ML_KNOB_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

static int tool_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '.';
}

static int apply_item(struct ml_knobs *k, const char *key, size_t kn, const char *val, size_t vn)
{
	for (size_t i = 0; i < sizeof knob_defs / sizeof knob_defs[0]; i++) {
		const struct knob_def *d = &knob_defs[i];
		if (strlen(d->name) != kn || memcmp(d->name, key, kn) != 0)
			continue;
		if (d->kind == KNOB_TOOL) {
			if (vn == 0 || vn > ML_TOOL_MAX)
				return -1;
			for (size_t j = 0; j < vn; j++)
				if (!tool_char_ok(val[j]))
					return -1;
			memcpy(k->tool, val, vn);
			k->tool[vn] = 0;
			return 0;
		}
		long v;
		if (parse_num(val, vn, &v) < 0)
			return -1;
		/* Only error statuses: a 2xx or 3xx "fault" would be ambiguous. */
		if (d->kind == KNOB_STATUS && (v < 400 || v > 599))
			return -1;
		if (d->kind == KNOB_PCT && v > 100)
			return -1;
		*(long *)((char *)k + d->off) = v;
		return 0;
	}
	return -1;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

int ml_knobs_parse(struct ml_knobs *k, const char *s, size_t n, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		const char *item = s + i;
		size_t in = j - i;
		trim(&item, &in);
		if (in) {
			const char *eq = memchr(item, '=', in);
			const char *key = item, *val = eq ? eq + 1 : item + in;
			size_t kn = eq ? (size_t)(eq - item) : in;
			size_t vn = eq ? in - kn - 1 : 0;
			trim(&key, &kn);
			trim(&val, &vn);
			if (!eq || apply_item(k, key, kn, val, vn) < 0) {
				snprintf(err, errlen, "mockllm: bad knob '%.*s' (see mockllm -h)",
					 (int)(in > 80 ? 80 : in), item);
				return -1;
			}
		}
		i = j + 1;
	}
	return 0;
}

size_t ml_knobs_model_split(const char *model, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (model[i] != '@')
			continue;
		if (memchr(model + i + 1, '=', n - i - 1))
			return i;
		break;
	}
	return n;
}
