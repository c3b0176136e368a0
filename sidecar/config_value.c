/*
 * config_value.c — counts, sizes, durations and modes as config text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_value.h"

struct unit {
	const char *name;
	uint64_t mult;
};

/* Binary units only: "K" meaning 1000 in one tool and 1024 in the next is how
 * rings end up not a power of two. Matched without regard to case. */
static const struct unit size_units[] = {
	{ "B", 1 },
	{ "K", 1ull << 10 }, { "KiB", 1ull << 10 },
	{ "M", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "G", 1ull << 30 }, { "GiB", 1ull << 30 },
};

/* Case matters here: "m" is minutes, and "M"/"MS" would only invite
 * guessing. Largest first, which is what cfg_format_duration_us wants. */
static const struct unit time_units[] = {
	{ "h", 3600000000ull },
	{ "m", 60000000ull },
	{ "s", 1000000ull },
	{ "ms", 1000ull },
	{ "us", 1 },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Leading decimal digits of s into *out; *end is where they stop. At least
 * one digit is required. A leading '-' gets its own message because "must
 * not be negative" is what the user needs to read, not "not a number".
 */
static int parse_digits(const char *s, size_t len, uint64_t *out, size_t *end,
			const char **why)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		*why = "must not be negative";
		return -EINVAL;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10) {
			*why = "is too large";
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (i == 0) {
		*why = "is not a number";
		return -EINVAL;
	}
	*out = v;
	*end = i;
	return 0;
}

int cfg_parse_uint(const char *s, size_t len, uint64_t *out, const char **why)
{
	size_t end;
	int ret = parse_digits(s, len, out, &end, why);

	if (ret == 0 && end != len) {
		*why = "is not a whole number";
		ret = -EINVAL;
	}
	return ret;
}

/* Number, optional spaces, unit from the table (bare = 1 * default_mult). */
static int parse_with_unit(const char *s, size_t len, const struct unit *units,
			   size_t n_units, int fold_case, uint64_t default_mult,
			   uint64_t *out, const char **why, const char *bad_unit)
{
	uint64_t v, mult = default_mult;
	size_t end, i;
	int ret = parse_digits(s, len, &v, &end, why);

	if (ret)
		return ret;
	while (end < len && s[end] == ' ')
		end++;
	if (end < len) {
		const char *u = s + end;
		size_t ulen = len - end;

		for (i = 0; i < n_units; i++) {
			if (strlen(units[i].name) != ulen)
				continue;
			if (fold_case ? strncasecmp(u, units[i].name, ulen) == 0
				      : memcmp(u, units[i].name, ulen) == 0)
				break;
		}
		if (i == n_units) {
			*why = bad_unit;
			return -EINVAL;
		}
		mult = units[i].mult;
	}
	if (v > UINT64_MAX / mult) {
		*why = "is too large";
		return -ERANGE;
	}
	*out = v * mult;
	return 0;
}

int cfg_parse_size(const char *s, size_t len, uint64_t *out, const char **why)
{
	return parse_with_unit(s, len, size_units, N_ELEMS(size_units), 1, 1, out,
			       why, "has an unknown unit (use B, KiB, MiB, GiB)");
}

int cfg_parse_duration_us(const char *s, size_t len, uint64_t *out, const char **why)
{
	return parse_with_unit(s, len, time_units, N_ELEMS(time_units), 0, 1000,
			       out, why, "has an unknown unit (use us, ms, s, m, h)");
}

int cfg_parse_mode(const char *s, size_t len, unsigned *out, const char **why)
{
	unsigned v = 0;
	size_t i = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		i = 2;
	if (i == len) {
		*why = "is not an octal mode like 0660";
		return -EINVAL;
	}
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '7') {
			*why = "is not an octal mode like 0660";
			return -EINVAL;
		}
		v = v * 8 + (unsigned)(s[i] - '0');
		/* Setuid, setgid and sticky mean nothing useful on a socket;
		 * refusing them early also bounds v. */
		if (v > 0777) {
			*why = "has bits beyond 0777 (only permission bits are allowed)";
			return -ERANGE;
		}
	}
	*out = v;
	return 0;
}

int cfg_parse_bool(const char *s, size_t len, int *out, const char **why)
{
	static const char *const names[] = { "false", "False", "FALSE", "true", "True", "TRUE" };
	size_t i;

	for (i = 0; i < N_ELEMS(names); i++) {
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
			*out = i >= 3;
			return 0;
		}
	}
	*why = "is not true or false";
	return -EINVAL;
}

/* Host names as curl and resolvers take them; '_' appears in container and
 * compose service names. Anything else (%-escapes, '\\') is refused. */
static int url_host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

/* A literal's text as a C string for inet_pton: 0 if it cannot be one. */
static int url_addr_text(const char *s, size_t len, char *buf, size_t size)
{
	if (len == 0 || len >= size)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 1;
}

int cfg_parse_url(const char *s, size_t len, struct cfg_url *u, const char **why)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	const char *close;
	uint64_t port;
	size_t i, a, p, auth_end;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			*why = "contains a space, a control or a non-ASCII character";
			return -EINVAL;
		}
	}
	if (len >= 8 && strncasecmp(s, "https://", 8) == 0) {
		u->https = 1;
		a = 8;
	} else if (len >= 7 && strncasecmp(s, "http://", 7) == 0) {
		a = 7;
	} else {
		*why = "does not start with http:// or https://";
		return -EINVAL;
	}
	u->rest_off = a;
	for (auth_end = a; auth_end < len; auth_end++)
		if (s[auth_end] == '/' || s[auth_end] == '?' || s[auth_end] == '#')
			break;
	/* Userinfo first: it is the mistake that puts a password in the file. */
	if (memchr(s + a, '@', auth_end - a)) {
		*why = "contains user:password@ (put the key in api_key or api_key_file)";
		return -EINVAL;
	}
	/* The adapter appends its own path and query to the base. */
	if (memchr(s, '?', len) || memchr(s, '#', len)) {
		*why = "has a ?query or #fragment (give scheme, host, port and path only)";
		return -EINVAL;
	}
	if (a < auth_end && s[a] == '[') {
		close = memchr(s + a, ']', auth_end - a);
		u->host_off = a + 1;
		u->host_len = close ? (size_t)(close - (s + a + 1)) : 0;
		if (!close || !url_addr_text(s + u->host_off, u->host_len, addr, sizeof(addr)) ||
		    inet_pton(AF_INET6, addr, &a6) != 1) {
			*why = "has an invalid [IPv6] address";
			return -EINVAL;
		}
		p = (size_t)(close - s) + 1;
	} else {
		for (p = a; p < auth_end && s[p] != ':'; p++)
			if (!url_host_char(s[p])) {
				*why = "has an invalid host name";
				return -EINVAL;
			}
		u->host_off = a;
		u->host_len = p - a;
		if (u->host_len == 0) {
			*why = "has no host";
			return -EINVAL;
		}
	}
	if (p < auth_end) {
		if (s[p] != ':') {
			*why = "has an invalid [IPv6] address";
			return -EINVAL;
		}
		if (cfg_parse_uint(s + p + 1, auth_end - p - 1, &port, why) ||
		    port < 1 || port > 65535) {
			*why = "has an invalid port (1..65535)";
			return -EINVAL;
		}
		u->port = (unsigned)port;
	}
	for (u->len = len; u->len > auth_end && s[u->len - 1] == '/'; u->len--)
		;
	return 0;
}

int cfg_host_is_loopback(const char *host, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	struct in_addr a4;
	struct in6_addr a6;

	if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
		return 1;
	if (!url_addr_text(host, len, addr, sizeof(addr)))
		return 0;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

void cfg_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const struct unit show[] = {
		{ "GiB", 1ull << 30 }, { "MiB", 1ull << 20 }, { "KiB", 1ull << 10 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(show); i++) {
		if (bytes != 0 && bytes % show[i].mult == 0) {
			snprintf(buf, len, "%llu%s",
				 (unsigned long long)(bytes / show[i].mult), show[i].name);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

void cfg_format_duration_us(uint64_t us, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < N_ELEMS(time_units); i++) {
		if ((us != 0 && us % time_units[i].mult == 0) || time_units[i].mult == 1) {
			snprintf(buf, len, "%llu%s",
				 (unsigned long long)(us / time_units[i].mult),
				 time_units[i].name);
			return;
		}
	}
}

/* Two-row Levenshtein over b (short: a known key name). */
size_t cfg_edit_distance(const char *a, size_t alen, const char *b, size_t limit)
{
	enum { MAX_B = 63 };	/* longer than any key the config knows */
	size_t row[MAX_B + 1], blen = strlen(b), i, j;

	if (blen > MAX_B || (alen > blen ? alen - blen : blen - alen) > limit)
		return SIZE_MAX;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= blen; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[blen];
}
