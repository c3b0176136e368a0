/*
 * fmt_anthropic.c — Anthropic Messages: `event: <type>` + `data: {...}`
 * from message_start to message_stop, and the Message object. Shapes follow
 * anthropic_stream_basic.sse, anthropic_stream_tools.sse,
 * anthropic_stream_error.sse, anthropic_message.json and
 * anthropic_error_*.json.
 */
#include "formats.h"

static void an_begin(struct ml_reply *r)
{
	(void)r;
}

static void an_head(struct ml_reply *r, struct ml_buf *o)
{
	ML_PUT(o, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock");
	ml_buf_u64(o, r->id);
	ML_PUT(o, "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"");
	ml_buf_put(o, r->model.p, r->model.len);
	ML_PUT(o, "\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
		  "\"usage\":{\"input_tokens\":");
	ml_buf_u64(o, r->prompt_tokens);
	ML_PUT(o, ",\"output_tokens\":1}}}\n\n"
		  "event: ping\ndata: {\"type\": \"ping\"}\n\n");
}

static void an_chunk(struct ml_reply *r, struct ml_buf *o)
{
	bool tool = ml_reply_tool(r);
	if (r->sent == 0) {
		ML_PUT(o, "event: content_block_start\ndata: {\"type\":\"content_block_start\","
			  "\"index\":0,\"content_block\":");
		if (tool) {
			ML_PUT(o, "{\"type\":\"tool_use\",\"id\":\"toolu_mock_0\",\"name\":\"");
			ml_buf_puts(o, r->knobs.tool);
			ML_PUT(o, "\",\"input\":{}}}\n\n");
		} else {
			ML_PUT(o, "{\"type\":\"text\",\"text\":\"\"}}\n\n");
		}
	}
	ML_PUT(o, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,");
	if (tool) {
		ML_PUT(o, "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
		ml_reply_args(r, r->sent, o, 1);
	} else {
		ML_PUT(o, "\"delta\":{\"type\":\"text_delta\",\"text\":\"");
		ml_reply_word(r, r->sent, o, 1);
	}
	ML_PUT(o, "\"}}\n\n");
}

static void an_finish(struct ml_reply *r, struct ml_buf *o)
{
	if (r->chunks)
		ML_PUT(o, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
	ML_PUT(o, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
	if (ml_reply_tool(r))
		ML_PUT(o, "tool_use");
	else
		ML_PUT(o, "end_turn");
	ML_PUT(o, "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
	ml_buf_u64(o, r->tokens);
	ML_PUT(o, "}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}

static void an_error(struct ml_reply *r, struct ml_buf *o)
{
	(void)r;
	ML_PUT(o, "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", "
		  "\"message\": \"Overloaded\"}}\n\n");
}

static void an_malformed(struct ml_reply *r, struct ml_buf *o)
{
	(void)r;
	ML_PUT(o, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		  "\"delta\":{\"type\":\"text_delta\",\"text\":\n\n");
}

static void an_whole(struct ml_reply *r, struct ml_buf *o)
{
	ML_PUT(o, "{\"id\":\"msg_mock");
	ml_buf_u64(o, r->id);
	ML_PUT(o, "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"");
	ml_buf_put(o, r->model.p, r->model.len);
	ML_PUT(o, "\",\"content\":[");
	if (ml_reply_tool(r)) {
		ML_PUT(o, "{\"type\":\"tool_use\",\"id\":\"toolu_mock_0\",\"name\":\"");
		ml_buf_puts(o, r->knobs.tool);
		ML_PUT(o, "\",\"input\":{\"text\":\"");
		ml_reply_text(r, o, 1);
		ML_PUT(o, "\"}}],\"stop_reason\":\"tool_use\"");
	} else {
		ML_PUT(o, "{\"type\":\"text\",\"text\":\"");
		ml_reply_text(r, o, 1);
		ML_PUT(o, "\"}],\"stop_reason\":\"end_turn\"");
	}
	ML_PUT(o, ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
	ml_buf_u64(o, r->prompt_tokens);
	ML_PUT(o, ",\"output_tokens\":");
	ml_buf_u64(o, r->tokens);
	ML_PUT(o, "}}");
}

/* Error types per status from docs.claude.com/en/api/errors. */
static void an_status_body(const struct ml_reply *r, int status, const char *msg, struct ml_buf *o)
{
	const char *type = status >= 500 ? "api_error" : "invalid_request_error";
	const char *text = "The request was rejected (mockllm injected this status).";
	switch (status) {
	case 401: type = "authentication_error"; text = "invalid x-api-key"; break;
	case 403: type = "permission_error"; text = "Your API key does not have permission to use the specified resource."; break;
	case 404: type = "not_found_error"; text = "The requested resource could not be found."; break;
	case 413: type = "request_too_large"; text = "Request exceeds the maximum allowed number of bytes."; break;
	case 429:
		type = "rate_limit_error";
		text = "This request would exceed the rate limit for your organization (mockllm).";
		break;
	case 500: text = "Internal server error"; break;
	case 529: type = "overloaded_error"; text = "Overloaded"; break;
	default: break;
	}
	msg = msg ? msg : text;
	ML_PUT(o, "{\"type\":\"error\",\"error\":{\"type\":\"");
	ml_buf_puts(o, type);
	ML_PUT(o, "\",\"message\":\"");
	ml_buf_json(o, msg, strlen(msg), 1);
	ML_PUT(o, "\"},\"request_id\":\"req_mock");
	ml_buf_u64(o, r->id);
	ML_PUT(o, "\"}");
}

const struct ml_fmt_ops ml_fmt_anthropic = {
	.ctype_stream = "text/event-stream; charset=utf-8",
	.ctype_json = "application/json",
	.id_header = "request-id",
	.begin = an_begin,
	.head = an_head,
	.chunk = an_chunk,
	.finish = an_finish,
	.error = an_error,
	.malformed = an_malformed,
	.whole = an_whole,
	.status_body = an_status_body,
};
