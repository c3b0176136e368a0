/*
 * test_codec_anthropic_build.c — the Anthropic codec's request translation:
 * a rich request, provider settings, tool choice and thinking, and what it
 * refuses (what Anthropic cannot do, header injection).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatreq.h"
#include "config.h"
#include "fx.h"
#include "pcodec.h"
#include "ringside.h"

/* ---- building requests ------------------------------------------------------------------------ */

static char ant_base_url[] = "https://api.anthropic.com";
static char ant_key[] = "sk-ant-test-0001";

/* JSON written with ' for " so the literals below stay readable (none of
 * them needs an apostrophe). Caller frees. */
static char *ant_q(const char *s)
{
	char *d = strdup(s);

	cr_assert_not_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static int ant_build_with(const struct cfg_provider *prov, const char *body_q, int stream,
			  struct pc_http *h, char *err, size_t errlen)
{
	struct chatreq req;
	struct pc_target t = { .prov = prov, .model = "claude-sonnet-4-5" };
	char perr[256];
	char *body = ant_q(body_q);
	int rc;

	rc = chatreq_parse(&req, body, strlen(body), perr, sizeof perr);
	cr_assert_eq(rc, 0, "chatreq: %s", perr);
	rc = pc_anthropic.build(&t, &req, stream, h, err, errlen);
	chatreq_free(&req);
	free(body);
	return rc;
}

static int ant_build(const char *body_q, int stream, struct pc_http *h, char *err, size_t errlen)
{
	struct cfg_provider prov = { .name = "claude", .kind = CFG_KIND_ANTHROPIC,
				     .base_url = ant_base_url, .api_key = ant_key };

	return ant_build_with(&prov, body_q, stream, h, err, errlen);
}

static void ant_assert_body(const struct pc_http *h, const char *want_q)
{
	char *want_s = ant_q(want_q);
	json_error_t je;
	json_t *got = json_loadb(h->body, h->body_len, 0, &je);
	json_t *want = json_loads(want_s, 0, &je);

	cr_assert_not_null(want, "expected JSON: %s", je.text);
	cr_assert_not_null(got, "built body is no JSON: %s", je.text);
	if (!json_equal(got, want)) {
		char *w = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
		char *g = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);

		cr_assert_fail("body differs\n--- got\n%s\n--- want\n%s", g, w);
	}
	json_decref(got);
	json_decref(want);
	free(want_s);
}

static unsigned ant_count_headers(const struct pc_http *h, const char *prefix)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->n_headers; i++)
		n += !strncasecmp(h->headers[i], prefix, strlen(prefix));
	return n;
}

static int ant_has_header(const struct pc_http *h, const char *line)
{
	for (unsigned i = 0; i < h->n_headers; i++)
		if (!strcmp(h->headers[i], line))
			return 1;
	return 0;
}

Test(codec_anthropic, build_rich_request)
{
	struct pc_http h = { 0 };
	char err[256];
	int rc = ant_build(
		"{'model':'claude','stream':true,'max_completion_tokens':512,'max_tokens':9,"
		"'messages':["
		"{'role':'system','content':'You are terse.'},"
		"{'role':'developer','content':[{'type':'text','text':'Answer in French.'}]},"
		"{'role':'user','content':'Weather in Paris?'},"
		"{'role':'assistant','content':'','tool_calls':["
		"  {'id':'call_1','type':'function','function':{'name':'get_weather','arguments':'{\\'city\\':\\'Paris\\'}'}},"
		"  {'id':'call_2','type':'function','function':{'name':'get_time','arguments':''}}]},"
		"{'role':'tool','tool_call_id':'call_1','content':'18C, sunny'},"
		"{'role':'tool','tool_call_id':'call_2','content':[{'type':'text','text':'14:05'}]},"
		"{'role':'user','content':[{'type':'text','text':'And this?'},"
		"  {'type':'image_url','image_url':{'url':'data:image/png;base64,iVBORw0KGgo=','detail':'low'}}]},"
		"{'role':'assistant','content':'A cat.'},"
		"{'role':'user','content':'Thanks.'},"
		"{'role':'user','content':[{'type':'text','text':'One more.'},"
		"  {'type':'image_url','image_url':{'url':'https://example.com/c.jpg'}}]}],"
		"'stop':['END','STOP'],'temperature':0.2,'top_p':0.9,'frequency_penalty':0.5,'seed':7,"
		"'stream_options':{'include_usage':true},'user':'u-42',"
		"'tools':[{'type':'function','function':{'name':'get_weather','description':'Weather by city',"
		"  'parameters':{'type':'object','properties':{'city':{'type':'string'}},'required':['city']}}},"
		"  {'type':'function','function':{'name':'get_time'}}],"
		"'tool_choice':'required'}",
		1, &h, err, sizeof err);

	cr_assert_eq(rc, 0, "%s", err);
	ant_assert_body(&h,
		"{'model':'claude-sonnet-4-5','max_tokens':512,"
		"'system':'You are terse.\\n\\nAnswer in French.',"
		"'messages':["
		"{'role':'user','content':'Weather in Paris?'},"
		"{'role':'assistant','content':["
		"  {'type':'tool_use','id':'call_1','name':'get_weather','input':{'city':'Paris'}},"
		"  {'type':'tool_use','id':'call_2','name':'get_time','input':{}}]},"
		"{'role':'user','content':["
		"  {'type':'tool_result','tool_use_id':'call_1','content':'18C, sunny'},"
		"  {'type':'tool_result','tool_use_id':'call_2','content':[{'type':'text','text':'14:05'}]},"
		"  {'type':'text','text':'And this?'},"
		"  {'type':'image','source':{'type':'base64','media_type':'image/png','data':'iVBORw0KGgo='}}]},"
		"{'role':'assistant','content':'A cat.'},"
		"{'role':'user','content':[{'type':'text','text':'Thanks.'},{'type':'text','text':'One more.'},"
		"  {'type':'image','source':{'type':'url','url':'https://example.com/c.jpg'}}]}],"
		"'stop_sequences':['END','STOP'],'temperature':0.2,'top_p':0.9,"
		"'tools':[{'name':'get_weather','description':'Weather by city',"
		"  'input_schema':{'type':'object','properties':{'city':{'type':'string'}},'required':['city']}},"
		"  {'name':'get_time','input_schema':{'type':'object','properties':{}}}],"
		"'tool_choice':{'type':'any'},'metadata':{'user_id':'u-42'},'stream':true}");
	cr_assert_str_eq(h.url, "https://api.anthropic.com/v1/messages");
	cr_assert_eq(h.format, PC_FMT_SSE);
	cr_assert_eq(ant_count_headers(&h, "x-api-key:"), 1);
	cr_assert(ant_has_header(&h, "x-api-key: sk-ant-test-0001"));
	cr_assert(ant_has_header(&h, "anthropic-version: 2023-06-01"));
	cr_assert(ant_has_header(&h, "content-type: application/json"));
	cr_assert(ant_has_header(&h, "accept: text/event-stream"));
	cr_assert_eq(ant_count_headers(&h, "authorization:"), 0);
	cr_assert_eq(h.body_len, strlen(h.body));
	pc_http_free(&h);
}

Test(codec_anthropic, build_plain_request_and_provider_settings)
{
	static char version[] = "2024-01-01", base[] = "http://127.0.0.1:9099";
	struct cfg_provider prov = { .name = "local", .kind = CFG_KIND_ANTHROPIC, .base_url = base,
				     .api_version = version };
	struct pc_http h = { 0 };
	char err[256];

	cr_assert_eq(ant_build_with(&prov, "{'messages':[{'role':'user','content':'Hi'}],'n':1,"
				    "'tool_choice':{'type':'function','function':{'name':'f'}},"
				    "'parallel_tool_calls':false,'stop':'##','response_format':{'type':'text'}}",
				    0, &h, err, sizeof err), 0, "%s", err);
	ant_assert_body(&h, "{'model':'claude-sonnet-4-5','max_tokens':4096,"
			"'messages':[{'role':'user','content':'Hi'}],'stop_sequences':['##'],"
			"'tool_choice':{'type':'tool','name':'f','disable_parallel_tool_use':true}}");
	cr_assert_str_eq(h.url, "http://127.0.0.1:9099/v1/messages");
	cr_assert_eq(h.format, PC_FMT_JSON);
	cr_assert_eq(ant_count_headers(&h, "x-api-key:"), 0);
	cr_assert_eq(ant_count_headers(&h, "accept:"), 0);
	cr_assert(ant_has_header(&h, "anthropic-version: 2024-01-01"));
	pc_http_free(&h);
}

Test(codec_anthropic, build_tool_choice_and_thinking)
{
	static const struct { const char *req, *want; } cases[] = {
		{ "{'messages':[{'role':'user','content':'x'}],'tool_choice':'auto','tools':[{'type':'function','function':{'name':'f','parameters':{'type':'object'}}}]}",
		  "{'model':'claude-sonnet-4-5','max_tokens':4096,'messages':[{'role':'user','content':'x'}],"
		  "'tools':[{'name':'f','input_schema':{'type':'object'}}],'tool_choice':{'type':'auto'}}" },
		{ "{'messages':[{'role':'user','content':'x'}],'tool_choice':'none','parallel_tool_calls':false}",
		  "{'model':'claude-sonnet-4-5','max_tokens':4096,'messages':[{'role':'user','content':'x'}],"
		  "'tool_choice':{'type':'none'}}" },
		{ "{'messages':[{'role':'user','content':'x'}],'parallel_tool_calls':false,'tools':[{'type':'function','function':{'name':'f'}}]}",
		  "{'model':'claude-sonnet-4-5','max_tokens':4096,'messages':[{'role':'user','content':'x'}],"
		  "'tools':[{'name':'f','input_schema':{'type':'object','properties':{}}}],"
		  "'tool_choice':{'type':'auto','disable_parallel_tool_use':true}}" },
		{ "{'messages':[{'role':'user','content':'x'}],'reasoning_effort':'high'}",
		  "{'model':'claude-sonnet-4-5','max_tokens':8192,'messages':[{'role':'user','content':'x'}],"
		  "'thinking':{'type':'enabled','budget_tokens':4096}}" },
		{ "{'messages':[{'role':'user','content':'x'}],'reasoning_effort':'low','max_tokens':2000}",
		  "{'model':'claude-sonnet-4-5','max_tokens':2000,'messages':[{'role':'user','content':'x'}],"
		  "'thinking':{'type':'enabled','budget_tokens':1024}}" },
		{ "{'messages':[{'role':'user','content':'x'}],'reasoning_effort':'none'}",
		  "{'model':'claude-sonnet-4-5','max_tokens':4096,'messages':[{'role':'user','content':'x'}]}" },
		{ "{'messages':[{'role':'user','content':'x'}],'thinking':{'type':'enabled','budget_tokens':10000}}",
		  "{'model':'claude-sonnet-4-5','max_tokens':14096,'messages':[{'role':'user','content':'x'}],"
		  "'thinking':{'type':'enabled','budget_tokens':10000}}" },
		/* an assistant prefill, empty messages dropped, a PDF */
		{ "{'messages':[{'role':'user','content':[{'type':'file','file':{'filename':'a.pdf','file_data':'data:application/pdf;base64,JVBERi0='}}]},"
		  "{'role':'user','content':''},{'role':'assistant','content':null},{'role':'assistant','content':[{'type':'text','text':'{'}]}]}",
		  "{'model':'claude-sonnet-4-5','max_tokens':4096,'messages':["
		  "{'role':'user','content':[{'type':'document','source':{'type':'base64','media_type':'application/pdf','data':'JVBERi0='}}]},"
		  "{'role':'assistant','content':'{'}]}" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_http h = { 0 };
		char err[256];

		cr_assert_eq(ant_build(cases[i].req, 0, &h, err, sizeof err), 0, "case %zu: %s", i, err);
		ant_assert_body(&h, cases[i].want);
		pc_http_free(&h);
	}
}

Test(codec_anthropic, build_refuses_what_anthropic_cannot_do)
{
	static const struct { const char *req, *msg; } cases[] = {
		{ "{'messages':[{'role':'user','content':'x'},{'role':'assistant','content':null,'tool_calls':["
		  "{'id':'c1','type':'function','function':{'name':'f','arguments':'{\\'a\\':'}}]}]}",
		  "messages[1].tool_calls[0].function.arguments: invalid JSON at byte 5" },
		{ "{'messages':[{'role':'user','content':'x'},{'role':'assistant','tool_calls':["
		  "{'id':'c1','type':'function','function':{'name':'f','arguments':'[1]'}}]}]}",
		  "messages[1].tool_calls[0].function.arguments: expected a JSON object" },
		{ "{'messages':[{'role':'user','content':'x'},{'role':'assistant','tool_calls':["
		  "{'type':'function','function':{'name':'f','arguments':'{}'}}]}]}",
		  "messages[1].tool_calls[0].id: expected a non-empty string" },
		{ "{'messages':[{'role':'user','content':'x'},{'role':'tool','content':'r'}]}",
		  "messages[1].tool_call_id: expected a non-empty string" },
		{ "{'messages':[{'role':'user','content':'x'}],'n':2}",
		  "n: anthropic returns one choice per request; n must be 1" },
		{ "{'messages':[{'role':'user','content':[{'type':'input_audio','input_audio':{'data':'AA==','format':'wav'}}]}]}",
		  "messages[0].content[0]: audio input is not supported by anthropic" },
		{ "{'messages':[{'role':'user','content':'x'}],'modalities':['text','audio']}",
		  "modalities[1]: anthropic answers only in text" },
		{ "{'messages':[{'role':'user','content':'x'}],'audio':{'voice':'alloy','format':'wav'}}",
		  "audio: audio output is not supported by anthropic" },
		{ "{'messages':[{'role':'user','content':'x'}],'logprobs':true}",
		  "logprobs: not supported by anthropic" },
		{ "{'messages':[{'role':'user','content':'x'}],'response_format':{'type':'json_object'}}",
		  "response_format: only type text is supported by anthropic" },
		{ "{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{'url':'ftp://x/y.png'}}]}]}",
		  "messages[0].content[0].image_url.url: expected a data:<type>;base64, URL or an http(s) URL" },
		{ "{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{'url':'data:image/png,abc'}}]}]}",
		  "messages[0].content[0].image_url.url: expected a data:<type>;base64, URL or an http(s) URL" },
		{ "{'messages':[{'role':'user','content':'x'},{'role':'assistant','content':[{'type':'image_url','image_url':{'url':'https://x/y'}}]}]}",
		  "messages[1].content[0].type: not supported by anthropic in a assistant message" },
		{ "{'messages':[{'role':'system','content':[{'type':'image_url','image_url':{'url':'https://x/y'}}]},{'role':'user','content':'x'}]}",
		  "messages[0].content[0]: system and developer messages take only text parts" },
		{ "{'messages':[{'role':'user','content':'x'}],'tools':[{'type':'web_search'}]}",
		  "tools[0].type: only function tools are supported by anthropic" },
		{ "{'messages':[{'role':'user','content':'x'}],'tool_choice':'sometimes'}",
		  "tool_choice: expected auto, none, required or a function" },
		{ "{'messages':[{'role':'user','content':'x'}],'stop':[1]}", "stop[0]: expected a string" },
		{ "{'messages':[{'role':'user','content':'x'}],'temperature':'hot'}", "temperature: expected a number" },
		{ "{'messages':[{'role':'user','content':'x'}],'reasoning_effort':'high','max_completion_tokens':4096}",
		  "max_completion_tokens: must exceed the thinking budget of 4096 tokens" },
		{ "{'messages':[{'role':'user','content':'x'}],'thinking':{'type':'enabled','budget_tokens':9223372036854775807},'max_tokens':5}",
		  "max_completion_tokens: must exceed the thinking budget of 1000000000 tokens" },
		{ "{'messages':[{'role':'user','content':'x'}],'reasoning_effort':'extreme'}",
		  "reasoning_effort: expected none, minimal, low, medium or high" },
		{ "{'messages':[{'role':'system','content':'s'},{'role':'user','content':''}]}",
		  "messages: no user or assistant content left to send" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_http h = { 0 };
		char err[256] = "untouched";

		cr_assert_eq(ant_build(cases[i].req, 1, &h, err, sizeof err), -EINVAL, "case %zu", i);
		cr_assert_str_eq(err, cases[i].msg, "case %zu", i);
		cr_assert_null(h.url);
		cr_assert_null(h.body);
		cr_assert_eq(h.n_headers, 0);
	}
}

Test(codec_anthropic, build_refuses_header_injection)
{
	static char bad_key[] = "sk-ant-x\r\nx-evil: 1";
	struct cfg_provider prov = { .name = "claude", .kind = CFG_KIND_ANTHROPIC,
				     .base_url = ant_base_url, .api_key = bad_key };
	struct pc_http h = { 0 };
	char err[256];

	cr_assert_eq(ant_build_with(&prov, "{'messages':[{'role':'user','content':'x'}]}", 1, &h, err,
				    sizeof err), -EINVAL);
	cr_assert(!strstr(err, "sk-ant"), "%s", err);
	cr_assert_null(h.url);
}
