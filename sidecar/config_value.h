/*
 * config_value.h — the scalar forms config values take (counts, sizes,
 * durations, file modes), parsed and printed. Kept apart from the YAML walk
 * so the rules are in one place and the dumper prints exactly what the
 * parser reads back.
 *
 * Parsers take text that is not NUL-terminated (it points into the YAML
 * source), return 0 or -EINVAL / -ERANGE, and on failure set *why to a fixed
 * phrase that reads after the quoted value: "'12XB' has an unknown unit
 * (use B, KiB, MiB, GiB)".
 */
#ifndef RINGSIDE_SIDECAR_CONFIG_VALUE_H
#define RINGSIDE_SIDECAR_CONFIG_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits only: no sign, no 0x, no separators. */
int cfg_parse_uint(const char *s, size_t len, uint64_t *out, const char **why);

/* Bytes: an integer, optionally followed by B, K/KiB, M/MiB, G/GiB (binary,
 * any case). */
int cfg_parse_size(const char *s, size_t len, uint64_t *out, const char **why);

/* Microseconds from an integer with unit us, ms, s, m or h; bare = ms. */
int cfg_parse_duration_us(const char *s, size_t len, uint64_t *out, const char **why);

/* Permission bits, always read as octal ("0660", "660", "0o660") whether the
 * YAML wrote a string or a number: modes are octal everywhere else too. */
int cfg_parse_mode(const char *s, size_t len, unsigned *out, const char **why);

/* true or false (also True, TRUE, False, FALSE: YAML 1.2's core schema).
 * yes/no/on/off are refused rather than guessed at. */
int cfg_parse_bool(const char *s, size_t len, int *out, const char **why);

/*
 * A provider's base URL: http:// or https:// (any case), a host (a name of
 * letters, digits, '-', '.', '_'; an IPv4 address; or an [IPv6] literal),
 * an optional :port (1..65535) and an optional path. Printable ASCII only;
 * no user:password@, no ?query, no #fragment. Offsets index s. Since a URL
 * may carry a credential, *why reads after "the URL", never after the text:
 * "the URL has no host".
 */
struct cfg_url {
	int https;
	size_t host_off, host_len;	/* an IPv6 host without its brackets */
	unsigned port;			/* 0 when not given */
	size_t rest_off;		/* where the host starts (after "scheme://") */
	size_t len;			/* length without trailing slashes */
};
int cfg_parse_url(const char *s, size_t len, struct cfg_url *u, const char **why);

/* host[0..len) is 127.0.0.0/8, ::1, ::ffff:127.x.y.z or "localhost" (any
 * case). Strict forms only: "127.1" is not recognised, so a lookalike is
 * treated as remote, never the other way round. */
int cfg_host_is_loopback(const char *host, size_t len);

/* Shortest exact rendering: "256KiB", "1000" (bytes); "10m", "1500us". Big
 * enough: CFG_VALUE_BUF. */
#define CFG_VALUE_BUF 32
void cfg_format_size(uint64_t bytes, char *buf, size_t len);
void cfg_format_duration_us(uint64_t us, char *buf, size_t len);

/* Levenshtein distance between a[0..alen) and the short NUL-terminated b,
 * or SIZE_MAX when it is certainly above `limit`: keys in a hostile file can
 * be megabytes long, so the full table is never built for those. */
size_t cfg_edit_distance(const char *a, size_t alen, const char *b, size_t limit);

#endif
