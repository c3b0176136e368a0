/*
 * codec_openai.c — OpenAI Chat Completions and Azure OpenAI: building the
 * upstream request, and the two codec tables (decoding is shared, in
 * codec_openai_dec.c).
 *
 * The client already speaks OpenAI's dialect, so the request is the client's
 * own JSON with the few keys the gateway owns rewritten: the upstream model,
 * "stream", usage reporting while streaming, and ringside's private "mock".
 * Everything else (tools, response_format, sampling parameters, keys OpenAI
 * adds next year) passes through untouched.
 */
#include "codec_openai.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatreq.h"
#include "config.h"
#include "jdump.h"

static void oa_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* A header value must stay one header: a CR or LF in a configured secret
 * would let it smuggle extra header lines into every request. */
static int oa_header_safe(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/* Percent-encode everything but RFC 3986's unreserved characters: a
 * deployment name or api-version is then one path segment or one query
 * value whatever it contains. NULL on allocation failure. */
static char *oa_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1);
	char *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = 0;
	return out;
}

/*
 * The upstream body: a shallow copy of the client's object (messages and
 * tools are shared, not duplicated) with the gateway's keys rewritten.
 * Returns 0, -EINVAL (with err) or -ENOMEM.
 */
static int oa_body(const struct pc_target *t, const struct chatreq *req, int stream, int azure,
		   struct pc_http *out, char *err, size_t errlen)
{
	json_t *body = json_copy(req->root);
	json_t *so = NULL;
	int rc = -ENOMEM;

	if (!body)
		goto out;
	json_object_del(body, "mock");
	if (azure) {
		/* The deployment in the URL names the model; Azure ignores or
		 * rejects a model in the body depending on api-version. */
		json_object_del(body, "model");
	} else {
		json_t *model = json_string(t->model);
		if (!model) {
			/* json_string refuses only invalid UTF-8 (or no memory). */
			oa_err(err, errlen, "upstream model name is not valid UTF-8");
			rc = -EINVAL;
			goto out;
		}
		if (json_object_set_new(body, "model", model))
			goto out;
	}
	if (json_object_set_new(body, "stream", json_boolean(stream)))
		goto out;
	if (stream) {
		/* Without include_usage a streamed reply carries no token
		 * counts, and the gateway meters every reply. The client's
		 * other stream_options are kept. */
		json_t *cur = json_object_get(body, "stream_options");
		if (json_is_object(cur)) {
			so = json_copy(cur);
		} else if (!cur || json_is_null(cur)) {
			so = json_object();
		} else {
			oa_err(err, errlen, "stream_options: expected an object");
			rc = -EINVAL;
			goto out;
		}
		if (!so || json_object_set_new(so, "include_usage", json_true()))
			goto out;
		if (json_object_set(body, "stream_options", so))
			goto out;
	} else {
		/* OpenAI rejects stream_options on a request that does not
		 * stream ("only allowed when stream is enabled"). */
		json_object_del(body, "stream_options");
	}
	out->body = jdump(body, &out->body_len);
	if (!out->body)
		goto out;
	rc = 0;
out:
	json_decref(so);
	json_decref(body);
	return rc;
}

static int oa_build(const struct pc_target *t, const struct chatreq *req, int stream, int azure,
		    struct pc_http *out, char *err, size_t errlen)
{
	const struct cfg_provider *p = t ? t->prov : NULL;
	char *dep = NULL, *ver = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (!p || !p->base_url || !*p->base_url) {
		oa_err(err, errlen, "provider has no base_url");
		return -EINVAL;
	}
	if (!t->model || !*t->model) {
		oa_err(err, errlen, azure ? "no deployment name" : "no upstream model name");
		return -EINVAL;
	}
	if (azure && (!p->api_version || !*p->api_version)) {
		oa_err(err, errlen, "azure provider has no api_version");
		return -EINVAL;
	}
	if (p->api_key && !oa_header_safe(p->api_key)) {
		/* Say what is wrong, never what the key is. */
		oa_err(err, errlen, "api_key contains control characters");
		return -EINVAL;
	}
	if (!req || !json_is_object(req->root)) {
		oa_err(err, errlen, "request body is not a JSON object");
		return -EINVAL;
	}
	rc = oa_body(t, req, stream, azure, out, err, errlen);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	if (azure) {
		dep = oa_url_escape(t->model);
		ver = oa_url_escape(p->api_version);
		if (!dep || !ver ||
		    asprintf(&out->url, "%s/openai/deployments/%s/chat/completions?api-version=%s",
			     p->base_url, dep, ver) < 0) {
			out->url = NULL;
			goto fail;
		}
	} else if (asprintf(&out->url, "%s/chat/completions", p->base_url) < 0) {
		out->url = NULL;
		goto fail;
	}
	if ((rc = pc_http_header(out, "Content-Type: application/json")))
		goto fail;
	if (p->api_key) {
		rc = azure ? pc_http_header(out, "api-key: %s", p->api_key)
			   : pc_http_header(out, "Authorization: Bearer %s", p->api_key);
		if (rc)
			goto fail;
	}
	if (stream && (rc = pc_http_header(out, "Accept: text/event-stream")))
		goto fail;
	out->format = stream ? PC_FMT_SSE : PC_FMT_JSON;
	free(dep);
	free(ver);
	return 0;
fail:
	free(dep);
	free(ver);
	pc_http_free(out);
	return rc;
}

static int oa_build_openai(const struct pc_target *t, const struct chatreq *req, int stream,
			   struct pc_http *out, char *err, size_t errlen)
{
	return oa_build(t, req, stream, 0, out, err, errlen);
}

static int oa_build_azure(const struct pc_target *t, const struct chatreq *req, int stream,
			  struct pc_http *out, char *err, size_t errlen)
{
	return oa_build(t, req, stream, 1, out, err, errlen);
}

const struct pc_codec pc_openai = {
	.kind = "openai",
	.build = oa_build_openai,
	.dec_init = oa_dec_init,
	.dec_free = oa_dec_free,
	.on_event = oa_on_event,
	.on_end = oa_on_end,
	.on_body = oa_on_body,
	.on_error = oa_on_error,
};

const struct pc_codec pc_azure = {
	.kind = "azure",
	.build = oa_build_azure,
	.dec_init = oa_dec_init,
	.dec_free = oa_dec_free,
	.on_event = oa_on_event,
	.on_end = oa_on_end,
	.on_body = oa_on_body,
	.on_error = oa_on_error,
};
