/*
 * backoff.c — retry schedule and Retry-After parsing (see backoff.h).
 */
#include "backoff.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define BO_NS_PER_S 1000000000ull
#define BO_NS_PER_MS 1000000ull

/* The OpenAI and Anthropic SDKs' retry defaults (INITIAL_RETRY_DELAY 0.5 s,
 * MAX_RETRY_DELAY 8 s, DEFAULT_MAX_RETRIES 2): what users of those SDKs
 * already live with, now done once per host instead of per process. */
#define BO_DEF_BASE_MS 500u
#define BO_DEF_CAP_MS 8000u
#define BO_DEF_ATTEMPTS 3u
/* Starting an attempt with less time left than a provider needs to send a
 * first chunk (a few hundred ms at best) only burns an upstream call. */
#define BO_DEF_MIN_LEFT_MS 200u

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's
 * xorshift generators, scrambled"): the multiplier of the paper, and a
 * non-zero stand-in for the one state xorshift cannot leave. */
#define BO_XS_MUL 0x2545F4914F6CDD1Dull
#define BO_XS_NONZERO 0x9E3779B97F4A7C15ull

uint64_t bo_xorshift(void *state)
{
	uint64_t *s = state, x = *s ? *s : BO_XS_NONZERO;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * BO_XS_MUL;
}

/* splitmix64's finaliser: spreads a weak seed over all 64 bits. */
static uint64_t bo_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static _Thread_local uint64_t bo_state;

struct bo_rng bo_rng_default(void)
{
	if (!bo_state) {
		uint64_t seed = 0;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
			/* No entropy this early (or getrandom filtered): the
			 * state's address (ASLR) and the pid still differ
			 * between processes and threads. */
			seed = (uint64_t)(uintptr_t)&bo_state ^ ((uint64_t)getpid() << 32);
		bo_state = bo_mix(seed) | 1u;
	}
	return (struct bo_rng){ .next = bo_xorshift, .state = &bo_state };
}

struct bo_config bo_config_default(void)
{
	return (struct bo_config){
		.base_ns = BO_DEF_BASE_MS * BO_NS_PER_MS,
		.cap_ns = BO_DEF_CAP_MS * BO_NS_PER_MS,
		.max_attempts = BO_DEF_ATTEMPTS,
		.min_left_ns = BO_DEF_MIN_LEFT_MS * BO_NS_PER_MS,
	};
}

int bo_config_check(const struct bo_config *c, const char **field)
{
	const char *bad = NULL;
	if (!c->base_ns)
		bad = "base";
	else if (c->cap_ns < c->base_ns)
		bad = "cap";
	else if (!c->max_attempts)
		bad = "max_attempts";
	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

int bo_init(struct bo *b, const struct bo_config *cfg, const struct bo_rng *rng,
	    uint64_t deadline_ns)
{
	if (bo_config_check(cfg, NULL) || (rng && !rng->next))
		return -EINVAL;
	memset(b, 0, sizeof *b);
	b->cfg = *cfg;
	b->rng = rng ? *rng : bo_rng_default();
	b->deadline_ns = deadline_ns;
	b->attempts = 1;
	return 0;
}

/* min(cap, base * 2^retry) without overflowing. */
static uint64_t bo_ceiling(const struct bo_config *c, uint32_t retry)
{
	if (retry >= 64 || c->base_ns > (c->cap_ns >> retry))
		return c->cap_ns;
	return c->base_ns << retry;
}

enum bo_verdict bo_next(struct bo *b, uint64_t now, uint64_t fixed_ns, uint64_t *delay_ns)
{
	uint64_t room = UINT64_MAX, d;

	if (b->attempts >= b->cfg.max_attempts)
		return BO_NO_ATTEMPTS;
	if (b->deadline_ns) {
		if (now >= b->deadline_ns || b->deadline_ns - now < b->cfg.min_left_ns)
			return BO_NO_TIME;
		room = b->deadline_ns - now - b->cfg.min_left_ns;
	}
	if (fixed_ns != BO_JITTER) {
		if (fixed_ns > room)
			return BO_NO_TIME;
		d = fixed_ns;
	} else {
		uint64_t top = bo_ceiling(&b->cfg, b->attempts - 1);
		if (top > room)
			top = room;
		uint64_t r = b->rng.next(b->rng.state);
		/* Modulo bias is below top / 2^64: under 2^-24 for any
		 * delay shorter than a quarter of an hour. */
		d = top == UINT64_MAX ? r : r % (top + 1);
	}
	b->attempts++;
	b->planned_ns = b->planned_ns > UINT64_MAX - d ? UINT64_MAX : b->planned_ns + d;
	*delay_ns = d;
	return BO_RETRY;
}

/* ---- Retry-After --------------------------------------------------------------- */

static int bo_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Strip RFC 9110 OWS (spaces and tabs) on both ends. */
static void bo_trim(const char **v, size_t *len)
{
	while (*len && (**v == ' ' || **v == '\t'))
		(*v)++, (*len)--;
	while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t'))
		(*len)--;
}

/* DIGITS [ "." DIGITS ] in units of unit_ns (a power of ten up to 1 s),
 * at most max_ns. Digits past the nanosecond are dropped. */
static int bo_parse_decimal(const char *v, size_t len, uint64_t unit_ns, uint64_t max_ns,
			    uint64_t *out)
{
	const uint64_t max_units = max_ns / unit_ns;
	uint64_t whole = 0, frac = 0, scale = unit_ns;
	size_t i = 0;
	int over = 0;

	bo_trim(&v, &len);
	if (!len || !bo_digit(v[0]))
		return -EINVAL;
	for (; i < len && bo_digit(v[i]); i++) {
		if (!over && whole > (max_units - (uint64_t)(v[i] - '0')) / 10)
			over = 1; /* keep scanning: garbage after it is -EINVAL */
		else if (!over)
			whole = whole * 10 + (uint64_t)(v[i] - '0');
	}
	if (i < len && v[i] == '.') {
		if (++i == len || !bo_digit(v[i]))
			return -EINVAL;
		for (; i < len && bo_digit(v[i]); i++) {
			scale /= 10;
			frac += (uint64_t)(v[i] - '0') * scale;
		}
	}
	if (i != len)
		return -EINVAL;
	if (over || whole * unit_ns > max_ns - frac)
		return -ERANGE;
	*out = whole * unit_ns + frac;
	return 0;
}

int bo_parse_retry_after_ms(const char *v, size_t len, uint64_t *delay_ns)
{
	if (!v)
		return -EINVAL;
	return bo_parse_decimal(v, len, BO_NS_PER_MS, BO_RETRY_AFTER_MAX_S * BO_NS_PER_S, delay_ns);
}

/* ---- HTTP-date (RFC 9110 section 5.6.7) ---------------------------------------- */

static const char bo_months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const bo_days_short[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const bo_days_long[7] = { "Monday", "Tuesday", "Wednesday", "Thursday",
					     "Friday", "Saturday", "Sunday" };

struct bo_cur {
	const char *p;
	size_t left;
};

/* Consume the exact text s. */
static int bo_lit(struct bo_cur *c, const char *s)
{
	size_t n = strlen(s);
	if (c->left < n || memcmp(c->p, s, n))
		return 0;
	c->p += n;
	c->left -= n;
	return 1;
}

/* Exactly n digits. */
static int bo_num(struct bo_cur *c, size_t n, unsigned *out)
{
	unsigned v = 0;
	if (c->left < n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!bo_digit(c->p[i]))
			return 0;
		v = v * 10 + (unsigned)(c->p[i] - '0');
	}
	c->p += n;
	c->left -= n;
	*out = v;
	return 1;
}

/* One of names (case-sensitive, as the RFC says); its index or -1. */
static int bo_word(struct bo_cur *c, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(names[i]);
		/* The next byte must not continue the word ("Sunday" is no
		 * "Sun" followed by junk). */
		if (c->left >= k && !memcmp(c->p, names[i], k) &&
		    (c->left == k || c->p[k] == ',' || c->p[k] == ' ')) {
			c->p += k;
			c->left -= k;
			return (int)i;
		}
	}
	return -1;
}

static int bo_month(struct bo_cur *c, unsigned *m)
{
	if (c->left < 3)
		return 0;
	for (unsigned i = 0; i < 12; i++)
		if (!memcmp(c->p, bo_months[i], 3)) {
			c->p += 3;
			c->left -= 3;
			*m = i + 1;
			return 1;
		}
	return 0;
}

/* "HH:MM:SS" -> seconds of the day; 60 is a leap second. */
static int bo_time(struct bo_cur *c, unsigned *secs)
{
	unsigned h, m, s;
	if (!bo_num(c, 2, &h) || !bo_lit(c, ":") || !bo_num(c, 2, &m) || !bo_lit(c, ":") ||
	    !bo_num(c, 2, &s) || h > 23 || m > 59 || s > 60)
		return 0;
	*secs = h * 3600 + m * 60 + s;
	return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms", days_from_civil). */
static int64_t bo_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The year of a day count (the same paper's civil_from_days). */
static int64_t bo_year_of(int64_t days)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	return (int64_t)yoe + era * 400 + (mp >= 10);
}

static int bo_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int bo_valid_day(int64_t y, unsigned m, unsigned d)
{
	static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return d >= 1 && d <= (unsigned)mdays[m - 1] + (m == 2 && bo_leap(y));
}

/* Any of the three formats -> Unix seconds. */
static int bo_http_date(const char *v, size_t len, int64_t wall_now_s, int64_t *out)
{
	struct bo_cur c = { v, len };
	unsigned d, m, y, secs;
	int64_t year;

	if (bo_word(&c, bo_days_short, 7) >= 0) {
		if (bo_lit(&c, ", ")) {
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			if (!bo_num(&c, 2, &d) || !bo_lit(&c, " ") || !bo_month(&c, &m) ||
			    !bo_lit(&c, " ") || !bo_num(&c, 4, &y) || !bo_lit(&c, " ") ||
			    !bo_time(&c, &secs) || !bo_lit(&c, " GMT"))
				return -EINVAL;
		} else {
			/* asctime: Sun Nov  6 08:49:37 1994 */
			if (!bo_lit(&c, " ") || !bo_month(&c, &m) || !bo_lit(&c, " "))
				return -EINVAL;
			if (bo_lit(&c, " ")) {
				if (!bo_num(&c, 1, &d))
					return -EINVAL;
			} else if (!bo_num(&c, 2, &d)) {
				return -EINVAL;
			}
			if (!bo_lit(&c, " ") || !bo_time(&c, &secs) || !bo_lit(&c, " ") ||
			    !bo_num(&c, 4, &y))
				return -EINVAL;
		}
		year = y;
	} else if (bo_word(&c, bo_days_long, 7) >= 0) {
		/* rfc850: Sunday, 06-Nov-94 08:49:37 GMT. A two-digit year is
		 * the latest with those digits not more than 50 years ahead
		 * (RFC 9110: further ahead means the century before). */
		if (!bo_lit(&c, ", ") || !bo_num(&c, 2, &d) || !bo_lit(&c, "-") ||
		    !bo_month(&c, &m) || !bo_lit(&c, "-") || !bo_num(&c, 2, &y) ||
		    !bo_lit(&c, " ") || !bo_time(&c, &secs) || !bo_lit(&c, " GMT"))
			return -EINVAL;
		int64_t now_days = wall_now_s / 86400 - (wall_now_s % 86400 < 0);
		int64_t now_year = bo_year_of(now_days);
		/* Only 4-digit years exist here: a clock outside them would
		 * only push the arithmetic below towards overflow. */
		now_year = now_year < 0 ? 0 : now_year > 9999 ? 9999 : now_year;
		year = now_year - now_year % 100 + y;
		if (year > now_year + 50)
			year -= 100;
		else if (year + 100 <= now_year + 50)
			year += 100;
	} else {
		return -EINVAL;
	}
	if (c.left || !bo_valid_day(year, m, d))
		return -EINVAL;
	*out = bo_days_from_civil(year, m, d) * 86400 + secs;
	return 0;
}

int bo_parse_retry_after(const char *v, size_t len, int64_t wall_now_s, uint64_t *delay_ns)
{
	int64_t when;
	int rc;

	if (!v)
		return -EINVAL;
	bo_trim(&v, &len);
	if (len && bo_digit(v[0]))
		return bo_parse_decimal(v, len, BO_NS_PER_S, BO_RETRY_AFTER_MAX_S * BO_NS_PER_S,
					delay_ns);
	if ((rc = bo_http_date(v, len, wall_now_s, &when)))
		return rc;
	if (when <= wall_now_s) {
		*delay_ns = 0; /* RFC 9110: a date in the past means now */
		return 0;
	}
	/* Unsigned difference: exact, and no signed overflow whatever the
	 * caller's clock says. */
	uint64_t ahead = (uint64_t)when - (uint64_t)wall_now_s;
	if (ahead > BO_RETRY_AFTER_MAX_S)
		return -ERANGE;
	*delay_ns = ahead * BO_NS_PER_S;
	return 0;
}
