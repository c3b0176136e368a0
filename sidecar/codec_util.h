/*
 * codec_util.h — private helpers shared by the Gemini and Ollama codecs
 * (codec_gemini*.c, codec_ollama.c). Not part of pcodec.h's interface:
 * these read an OpenAI-shaped request the way both providers need it, and
 * turn decoded JSON into sink calls the way both decoders need it.
 *
 * Request readers return 0, -EINVAL with a one-line reason in err (the
 * client's request cannot be expressed upstream), or -ENOMEM. Reasons name
 * the field ("messages[2].tool_calls[0].function.arguments: ...") and never
 * quote the client's text.
 */
#ifndef RINGSIDE_CODEC_UTIL_H
#define RINGSIDE_CODEC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pcodec.h"

/* ---- building requests ----------------------------------------------------------- */

/* Write a reason into err and return -EINVAL. */
int cu_einval(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* What every build checks first: a target with a base_url and a model, an
 * api_key that stays one header line, a request that is a JSON object. */
int cu_check_target(const struct pc_target *t, const struct chatreq *req, char *err, size_t errlen);

/* Percent-encode all but RFC 3986 unreserved characters. NULL: no memory. */
char *cu_url_escape(const char *s);

/* json_object_set_new / json_array_append_new that report -ENOMEM; both
 * take the reference to val whatever happens (val may be NULL, the result
 * of a failed allocation). */
int cu_put(json_t *obj, const char *key, json_t *val);
int cu_push(json_t *arr, json_t *val);

/* Serialize body (compact) into out->body. 0 or -ENOMEM. */
int cu_set_body(struct pc_http *out, json_t *body);

/* A parsed `data:<mime>[;...];base64,<data>` URL; pointers into the URL. */
struct cu_data_url {
	const char *mime, *b64;
	size_t mime_len, b64_len;
};

/* 0 when url is a base64 data URL with a media type and data, else
 * -EINVAL. */
int cu_data_url(const char *url, size_t len, struct cu_data_url *d);

/* Does url start with http:// or https:// (any case)? */
int cu_is_http_url(const char *url);

/* The text of a message's content: the string itself, its text (and
 * refusal) parts joined with LF, or "" for null/absent. Other part types
 * are -EINVAL ("messages[mi].content[pi]: ... not supported for role R"
 * with prov naming the provider). *out: a new reference. */
int cu_text(json_t *msg, size_t mi, const char *prov, json_t **out, char *err, size_t errlen);

/* One assistant tool_calls[ci] entry, checked: *name its function name,
 * *args its arguments parsed into an object (a new reference; "" and
 * absent mean {}). */
int cu_tool_call(json_t *call, size_t mi, size_t ci, const char **name, json_t **args, char *err,
		 size_t errlen);

/* The function name of the tool call `id` made by the nearest assistant
 * message before messages[mi], or NULL. */
const char *cu_tool_call_name(json_t *messages, size_t mi, const char *id);

/* Optional parameters of the request root; null counts as absent. *out is
 * a new reference or NULL when absent. */
int cu_opt_number(json_t *root, const char *key, json_t **out, char *err, size_t errlen);
int cu_opt_integer(json_t *root, const char *key, json_t **out, char *err, size_t errlen);
/* "stop": a string or an array of strings -> an array, NULL when absent or
 * empty. */
int cu_opt_stop(json_t *root, json_t **out, char *err, size_t errlen);
/* "n": only 1 (or absent) can be served by providers that return one
 * candidate. */
int cu_check_n(json_t *root, const char *prov, char *err, size_t errlen);

enum cu_rf { CU_RF_NONE = 0, CU_RF_JSON, CU_RF_SCHEMA };
/* "response_format": text/absent -> CU_RF_NONE, json_object -> CU_RF_JSON,
 * json_schema -> CU_RF_SCHEMA with *schema borrowed from the request.
 * Returns the kind, or -EINVAL. */
int cu_response_format(json_t *root, json_t **schema, char *err, size_t errlen);

/* ---- decoding -------------------------------------------------------------------- */

/* Parse provider JSON (NUL escapes allowed: text may contain them).
 * NULL when it is not JSON, or (*nomem set, when nomem is given) when
 * memory ran out: that is the gateway's trouble, not a malformed reply. */
json_t *cu_parse(const char *data, size_t len, int *nomem);

/* A token count: an integer clamped to [0, UINT32_MAX], else 0. */
uint32_t cu_u32(json_t *v);

/* pc_fail with a formatted message. */
int cu_fail(struct pc_dec *d, const struct uev_sink *s, int code, int status, int retryable,
	    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Emit a whole tool call as one fragment: id is the provider's (a string
 * json_t, or NULL) or the invented "call_<index>", args is serialized
 * compactly ({} when absent, a string as it stands). */
int cu_tool_event(const struct uev_sink *s, uint32_t index, json_t *id, const char *name,
		  size_t name_len, json_t *args);

/* ---- Gemini's two halves (codec_gemini_req.c builds, codec_gemini.c
 * decodes and owns the codec table) ------------------------------------------------ */

int gm_build(const struct pc_target *t, const struct chatreq *req, int stream, struct pc_http *out,
	     char *err, size_t errlen);

#endif
