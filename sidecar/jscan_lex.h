/*
 * jscan_lex.h — the tokens of the tree-less JSON scanner (jscan.h):
 * strings and numbers, each lexed from its first byte by a pure function
 * over [p, end). Private to jscan.c (the walk over a document) and
 * jscan_lex.c; decoders use jscan.h.
 */
#ifndef RINGSIDE_JSCAN_LEX_H
#define RINGSIDE_JSCAN_LEX_H

#include <stdint.h>

#include "jscan.h"

/* The string whose opening quote is at p: past its closing quote, with *s
 * describing it, or NULL if jansson would refuse it. key: refuse U+0000
 * too, which jansson refuses in keys even with JSON_ALLOW_NUL. */
const char *js_lex_string(const char *p, const char *end, struct js_str *s, int key);

/* The number at p: past it, with *kind and, for an integer, *iv; or NULL
 * if it is no number or one jansson would refuse. */
const char *js_lex_number(const char *p, const char *end, int64_t *iv, enum js_num *kind);

#endif
