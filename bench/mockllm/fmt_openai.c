/*
 * fmt_openai.c — OpenAI Chat Completions: `data: {chat.completion.chunk}`
 * events ending with `data: [DONE]`, and the chat.completion object.
 * Shapes follow openai_stream_usage.sse, openai_stream_tools.sse,
 * openai_chat_completion.json and openai_error_*.json.
 */
#include "formats.h"

/* Every chunk of one reply shares everything up to its choices. */
static void oa_begin(struct ml_reply *r)
{
	struct ml_buf *p = &r->prefix;
	ML_PUT(p, "data: {\"id\":\"chatcmpl-mock");
	ml_buf_u64(p, r->id);
	ML_PUT(p, "\",\"object\":\"chat.completion.chunk\",\"created\":");
	ml_buf_u64(p, r->created);
	ML_PUT(p, ",\"model\":\"");
	ml_buf_put(p, r->model.p, r->model.len);
	ML_PUT(p, "\",\"system_fingerprint\":\"fp_mockllm\",\"choices\":[");
}

static void oa_usage(const struct ml_reply *r, struct ml_buf *o)
{
	ML_PUT(o, "\"usage\":{\"prompt_tokens\":");
	ml_buf_u64(o, r->prompt_tokens);
	ML_PUT(o, ",\"completion_tokens\":");
	ml_buf_u64(o, r->tokens);
	ML_PUT(o, ",\"total_tokens\":");
	ml_buf_u64(o, (uint64_t)r->prompt_tokens + r->tokens);
	ml_buf_putc(o, '}');
}

static void oa_head(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	if (ml_reply_tool(r)) {
		ML_PUT(o, "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
			  "\"tool_calls\":[{\"index\":0,\"id\":\"call_mock_0\",\"type\":\"function\","
			  "\"function\":{\"name\":\"");
		ml_buf_puts(o, r->knobs.tool);
		ML_PUT(o, "\",\"arguments\":\"\"}}],\"refusal\":null}");
	} else {
		ML_PUT(o, "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}");
	}
	ML_PUT(o, ",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

static void oa_chunk(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	if (ml_reply_tool(r)) {
		ML_PUT(o, "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"");
		ml_reply_args(r, r->sent, o, 1);
		ML_PUT(o, "\"}}]}");
	} else {
		ML_PUT(o, "{\"index\":0,\"delta\":{\"content\":\"");
		ml_reply_word(r, r->sent, o, 1);
		ML_PUT(o, "\"}");
	}
	ML_PUT(o, ",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

static void oa_finish(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	ML_PUT(o, "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"");
	if (ml_reply_tool(r))
		ML_PUT(o, "tool_calls");
	else
		ML_PUT(o, "stop");
	ML_PUT(o, "\"}]}\n\n");
	if (r->include_usage) {
		ml_buf_put(o, r->prefix.p, r->prefix.len);
		ML_PUT(o, "],");
		oa_usage(r, o);
		ML_PUT(o, "}\n\n");
	}
	ML_PUT(o, "data: [DONE]\n\n");
}

static void oa_error(struct ml_reply *r, struct ml_buf *o)
{
	(void)r;
	ML_PUT(o, "data: {\"error\":{\"message\":\"The server had an error while processing your "
		  "request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n");
}

static void oa_malformed(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	ML_PUT(o, "{\"index\":0,\"delta\":{\"content\":\n\n");
}

static void oa_whole(struct ml_reply *r, struct ml_buf *o)
{
	ML_PUT(o, "{\"id\":\"chatcmpl-mock");
	ml_buf_u64(o, r->id);
	ML_PUT(o, "\",\"object\":\"chat.completion\",\"created\":");
	ml_buf_u64(o, r->created);
	ML_PUT(o, ",\"model\":\"");
	ml_buf_put(o, r->model.p, r->model.len);
	ML_PUT(o, "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",");
	if (ml_reply_tool(r)) {
		ML_PUT(o, "\"content\":null,\"tool_calls\":[{\"id\":\"call_mock_0\",\"type\":\"function\","
			  "\"function\":{\"name\":\"");
		ml_buf_puts(o, r->knobs.tool);
		ML_PUT(o, "\",\"arguments\":\"{\\\"text\\\":\\\"");
		ml_reply_text(r, o, 2);
		ML_PUT(o, "\\\"}\"}}],\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],");
	} else {
		ML_PUT(o, "\"content\":\"");
		ml_reply_text(r, o, 1);
		ML_PUT(o, "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],");
	}
	oa_usage(r, o);
	ML_PUT(o, ",\"system_fingerprint\":\"fp_mockllm\"}");
}

/* type, code and message per status, as the API sends them (the fixtures'
 * texts; statuses they do not cover get the API's generic wording). */
static void oa_status_body(const struct ml_reply *r, int status, const char *msg, struct ml_buf *o)
{
	(void)r;
	const char *type = status >= 500 ? "server_error" : "invalid_request_error";
	const char *code = NULL, *text = "The request was rejected (mockllm injected this status).";
	switch (status) {
	case 401:
		code = "invalid_api_key";
		text = "Incorrect API key provided: sk-mock. You can find your API key at "
		       "https://platform.openai.com/account/api-keys.";
		break;
	case 404:
		code = "model_not_found";
		text = "The model does not exist or you do not have access to it.";
		break;
	case 429:
		type = "requests";
		code = "rate_limit_exceeded";
		text = "Rate limit reached for requests (mockllm). Please try again in 1s.";
		break;
	case 500:
		text = "The server had an error while processing your request. Sorry about that!";
		break;
	case 503:
		text = "The engine is currently overloaded, please try again later.";
		break;
	default:
		break;
	}
	ML_PUT(o, "{\n    \"error\": {\n        \"message\": \"");
	msg = msg ? msg : text;
	ml_buf_json(o, msg, strlen(msg), 1);
	ML_PUT(o, "\",\n        \"type\": \"");
	ml_buf_puts(o, type);
	ML_PUT(o, "\",\n        \"param\": null,\n        \"code\": ");
	if (code) {
		ml_buf_putc(o, '"');
		ml_buf_puts(o, code);
		ml_buf_putc(o, '"');
	} else {
		ML_PUT(o, "null");
	}
	ML_PUT(o, "\n    }\n}\n");
}

const struct ml_fmt_ops ml_fmt_openai = {
	.ctype_stream = "text/event-stream; charset=utf-8",
	.ctype_json = "application/json",
	.id_header = "x-request-id",
	.begin = oa_begin,
	.head = oa_head,
	.chunk = oa_chunk,
	.finish = oa_finish,
	.error = oa_error,
	.malformed = oa_malformed,
	.whole = oa_whole,
	.status_body = oa_status_body,
};
