/*
 * test_codec_openai_build.c — request building by the OpenAI and Azure
 * codecs: URLs, headers, the key in exactly one header, the client's body
 * kept, and what the codecs refuse to build.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringside.h"
#include "sidecar/chatreq.h"
#include "sidecar/config.h"
#include "sidecar/pcodec.h"
#include "codec_openai_util.h"
#include "fx.h"

/* ---- building requests ------------------------------------------------------------- */

static char oat_key[] = "sk-test-Zq93kLm0pXyT8vW2nB4cD6eF";
static char oat_openai_url[] = "https://api.openai.com/v1";
static char oat_azure_url[] = "https://res.openai.azure.com";
static char oat_azure_version[] = "2024-10-21";
static char oat_name[] = "up";

static const char oat_client_body[] =
	"{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
	"\"stream_options\":{\"continuous_usage_stats\":true},\"mock\":{\"tokens\":3},"
	"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\",\"parameters\":"
	"{\"type\":\"object\"}}}],\"tool_choice\":\"auto\",\"response_format\":{\"type\":"
	"\"json_object\"},\"temperature\":0.5,\"n\":1,\"user\":\"u-1\"}";

static void oat_req(struct chatreq *req, const char *body)
{
	char err[256];
	cr_assert_eq(chatreq_parse(req, body, strlen(body), err, sizeof err), 0, "%s", err);
}

static struct cfg_provider oat_prov(enum cfg_kind kind, char *key)
{
	return (struct cfg_provider){
		.name = oat_name,
		.kind = kind,
		.base_url = kind == CFG_KIND_AZURE ? oat_azure_url : oat_openai_url,
		.api_key = key,
		.api_version = kind == CFG_KIND_AZURE ? oat_azure_version : NULL,
	};
}

static json_t *oat_built_body(const struct pc_http *h)
{
	json_error_t je;
	json_t *b;

	cr_assert_not_null(h->body);
	cr_assert_eq(h->body_len, strlen(h->body));
	b = json_loadb(h->body, h->body_len, JSON_REJECT_DUPLICATES, &je);
	cr_assert_not_null(b, "body is not JSON: %s", je.text);
	return b;
}

static int oat_count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The key is in exactly one header, and in nothing else. */
static void oat_assert_key_only_in(const struct pc_http *h, const char *header)
{
	int seen = 0;

	cr_assert_null(strstr(h->url, oat_key));
	cr_assert_null(strstr(h->body, oat_key));
	for (unsigned i = 0; i < h->n_headers; i++) {
		if (!strstr(h->headers[i], oat_key))
			continue;
		cr_assert_str_eq(h->headers[i], header);
		seen++;
	}
	cr_assert_eq(seen, 1);
}

/* What the gateway does not own passes through as the client sent it. */
static void oat_assert_kept(json_t *b, json_t *orig)
{
	static const char *const keys[] = { "messages", "tools", "tool_choice", "response_format",
					    "temperature", "n", "user" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		cr_assert(json_equal(json_object_get(b, keys[i]), json_object_get(orig, keys[i])),
			  "%s changed", keys[i]);
	cr_assert_null(json_object_get(b, "mock"));
}

Test(codec_openai, build_streaming)
{
	struct cfg_provider p = oat_prov(CFG_KIND_OPENAI, oat_key);
	struct pc_target t = { &p, "gpt-4o-mini" };
	struct chatreq req;
	struct pc_http h;
	char err[128] = "";
	json_t *b;

	oat_req(&req, oat_client_body);
	cr_assert_eq(pc_openai.build(&t, &req, 1, &h, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(h.url, "https://api.openai.com/v1/chat/completions");
	cr_assert_eq(h.n_headers, 3);
	cr_assert_str_eq(h.headers[0], "Content-Type: application/json");
	cr_assert_str_eq(h.headers[1], "Authorization: Bearer sk-test-Zq93kLm0pXyT8vW2nB4cD6eF");
	cr_assert_str_eq(h.headers[2], "Accept: text/event-stream");
	cr_assert_eq(h.format, PC_FMT_SSE);
	oat_assert_key_only_in(&h, "Authorization: Bearer sk-test-Zq93kLm0pXyT8vW2nB4cD6eF");
	b = oat_built_body(&h);
	cr_assert_str_eq(json_string_value(json_object_get(b, "model")), "gpt-4o-mini");
	cr_assert(json_is_true(json_object_get(b, "stream")));
	json_t *want = json_pack("{s:b,s:b}", "continuous_usage_stats", 1, "include_usage", 1);
	cr_assert(json_equal(json_object_get(b, "stream_options"), want), "stream_options not merged");
	json_decref(want);
	oat_assert_kept(b, req.root);
	cr_assert_eq(oat_count(h.body, "\"model\""), 1);
	/* the client's request is not touched */
	cr_assert_str_eq(json_string_value(json_object_get(req.root, "model")), "fast");
	cr_assert_not_null(json_object_get(req.root, "mock"));
	cr_assert_null(json_object_get(json_object_get(req.root, "stream_options"), "include_usage"));
	json_decref(b);
	pc_http_free(&h);
	pc_http_free(&h);
	chatreq_free(&req);
}

Test(codec_openai, build_not_streaming)
{
	struct cfg_provider p = oat_prov(CFG_KIND_OPENAI, oat_key);
	struct pc_target t = { &p, "gpt-4o-mini" };
	struct chatreq req;
	struct pc_http h;
	char err[128] = "";
	json_t *b;

	oat_req(&req, oat_client_body);
	cr_assert_eq(pc_openai.build(&t, &req, 0, &h, err, sizeof err), 0, "%s", err);
	cr_assert_eq(h.format, PC_FMT_JSON);
	cr_assert_eq(h.n_headers, 2);
	cr_assert_str_eq(h.headers[0], "Content-Type: application/json");
	oat_assert_key_only_in(&h, "Authorization: Bearer sk-test-Zq93kLm0pXyT8vW2nB4cD6eF");
	b = oat_built_body(&h);
	cr_assert(json_is_false(json_object_get(b, "stream")));
	/* OpenAI refuses stream_options without stream */
	cr_assert_null(json_object_get(b, "stream_options"));
	oat_assert_kept(b, req.root);
	json_decref(b);
	pc_http_free(&h);
	chatreq_free(&req);
}

Test(codec_openai, build_without_key_and_without_stream_options)
{
	struct cfg_provider p = oat_prov(CFG_KIND_OPENAI, NULL);
	struct pc_target t = { &p, "llama" };
	struct chatreq req;
	struct pc_http h;
	char err[128] = "";
	json_t *b;

	oat_req(&req, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream_options\":null}");
	cr_assert_eq(pc_openai.build(&t, &req, 1, &h, err, sizeof err), 0, "%s", err);
	cr_assert_eq(h.n_headers, 2, "no Authorization without a key");
	cr_assert_str_eq(h.headers[1], "Accept: text/event-stream");
	b = oat_built_body(&h);
	cr_assert_str_eq(json_string_value(json_object_get(b, "model")), "llama");
	cr_assert(json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage")));
	json_decref(b);
	pc_http_free(&h);
	chatreq_free(&req);
}

Test(codec_azure, build_deployment_url_and_api_key)
{
	struct cfg_provider p = oat_prov(CFG_KIND_AZURE, oat_key);
	struct pc_target t = { &p, "my dep/v1" };
	struct chatreq req;
	struct pc_http h;
	char err[128] = "";
	json_t *b;

	oat_req(&req, oat_client_body);
	cr_assert_eq(pc_azure.build(&t, &req, 1, &h, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(h.url, "https://res.openai.azure.com/openai/deployments/my%20dep%2Fv1"
				"/chat/completions?api-version=2024-10-21");
	cr_assert_eq(h.n_headers, 3);
	cr_assert_str_eq(h.headers[0], "Content-Type: application/json");
	cr_assert_str_eq(h.headers[1], "api-key: sk-test-Zq93kLm0pXyT8vW2nB4cD6eF");
	cr_assert_str_eq(h.headers[2], "Accept: text/event-stream");
	oat_assert_key_only_in(&h, "api-key: sk-test-Zq93kLm0pXyT8vW2nB4cD6eF");
	for (unsigned i = 0; i < h.n_headers; i++)
		cr_assert_null(strstr(h.headers[i], "Authorization"));
	b = oat_built_body(&h);
	cr_assert_null(json_object_get(b, "model"), "the deployment names the model");
	cr_assert(json_is_true(json_object_get(b, "stream")));
	cr_assert(json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage")));
	oat_assert_kept(b, req.root);
	json_decref(b);
	pc_http_free(&h);

	cr_assert_eq(pc_azure.build(&t, &req, 0, &h, err, sizeof err), 0, "%s", err);
	cr_assert_eq(h.format, PC_FMT_JSON);
	cr_assert_eq(h.n_headers, 2);
	pc_http_free(&h);
	chatreq_free(&req);
}

Test(codec_openai, build_refusals)
{
	static char evil_key[] = "abc123\r\nX-Evil: 1";
	static char bad_model[] = "m\xff";
	struct cfg_provider p = oat_prov(CFG_KIND_OPENAI, oat_key);
	struct cfg_provider az = oat_prov(CFG_KIND_AZURE, oat_key);
	struct pc_target t = { &p, "gpt-4o" };
	struct chatreq req, bad_so;
	struct pc_http h;
	char err[128];

	oat_req(&req, oat_client_body);
	oat_req(&bad_so,
		"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream_options\":\"x\"}");

	cr_assert_eq(pc_openai.build(&t, &bad_so, 1, &h, err, sizeof err), -EINVAL);
	cr_assert_str_eq(err, "stream_options: expected an object");
	pc_http_free(&h);
	/* not streaming: stream_options is dropped, whatever it was */
	cr_assert_eq(pc_openai.build(&t, &bad_so, 0, &h, err, sizeof err), 0, "%s", err);
	pc_http_free(&h);

	t.model = bad_model;
	cr_assert_eq(pc_openai.build(&t, &req, 1, &h, err, sizeof err), -EINVAL);
	pc_http_free(&h);
	t.model = NULL;
	cr_assert_eq(pc_openai.build(&t, &req, 1, &h, err, sizeof err), -EINVAL);
	t.model = "gpt-4o";

	p.api_key = evil_key;
	cr_assert_eq(pc_openai.build(&t, &req, 1, &h, err, sizeof err), -EINVAL);
	cr_assert_null(strstr(err, "abc123"), "%s", err);
	cr_assert_null(h.url);
	cr_assert_eq(h.n_headers, 0);
	p.api_key = oat_key;

	p.base_url = NULL;
	cr_assert_eq(pc_openai.build(&t, &req, 1, &h, err, sizeof err), -EINVAL);
	cr_assert_str_eq(err, "provider has no base_url");

	t.prov = &az;
	az.api_version = NULL;
	cr_assert_eq(pc_azure.build(&t, &req, 1, &h, err, sizeof err), -EINVAL);
	cr_assert_str_eq(err, "azure provider has no api_version");
	pc_http_free(&h);

	chatreq_free(&bad_so);
	chatreq_free(&req);
}
