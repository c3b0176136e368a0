/*
 * jdump.h — a jansson value as compact JSON text, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes, in a fraction of
 * its time.
 *
 * Every request to a provider is a jansson tree dumped to text, and
 * json_dumps spent more instructions on a 200-byte body than the rest of
 * building it (callgrind: ~17k per request): a callback per fragment, a
 * hashtable of visited containers keyed by printed pointers, a copy at the
 * end. jdump writes into one growing buffer and guards against cycles by
 * depth instead (a tree deeper than JDUMP_MAX_DEPTH fails, as a cycle
 * does in json_dumps; jansson's parser stops at 2048).
 *
 * The output is the same as jansson 2.14's: keys in insertion order,
 * strings escaped as it escapes them (", \, \b \f \n \r \t, other control
 * bytes as \u00XX, everything else verbatim), integers in decimal, reals
 * as "%.17g" with ".0" added when that looks like an integer and the
 * exponent's '+' and leading zeros removed. A string that is not valid
 * UTF-8 (possible only through jansson's *_nocheck setters) fails, as it
 * does in json_dumps. tests/unit/test_jdump.c holds it to that.
 */
#ifndef RINGSIDE_JDUMP_H
#define RINGSIDE_JDUMP_H

#include <stddef.h>

#include <jansson.h>

/* Containers nested deeper than this fail the dump. */
#define JDUMP_MAX_DEPTH 4096

/* The text of v, NUL-terminated, its length (without the NUL) in *len if
 * len is not NULL; malloc'd, to be released with free(). NULL when v is
 * NULL, too deep, holds invalid UTF-8, or memory ran out. */
char *jdump(const json_t *v, size_t *len);

#endif
