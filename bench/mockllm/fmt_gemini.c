/*
 * fmt_gemini.c — Gemini generateContent: with ?alt=sse `data: {...}` events
 * separated by CRLF CRLF and ended by EOF (the end of the chunked body);
 * without it one JSON array streamed element by element. finishReason rides
 * on the last content event and usageMetadata grows on each. Shapes follow
 * gemini_stream.sse, gemini_generate.json and gemini_error_*.json.
 */
#include "formats.h"

static void gm_begin(struct ml_reply *r)
{
	(void)r;
}

/* Open one event: SSE field, or the array's bracket or separator. */
static void gm_open(struct ml_reply *r, struct ml_buf *o)
{
	if (r->gemini_sse)
		ML_PUT(o, "data: ");
	else if (r->events == 0)
		ml_buf_putc(o, '[');
	else
		ML_PUT(o, ",\r\n");
	r->events++;
}

static void gm_close(const struct ml_reply *r, struct ml_buf *o)
{
	if (r->gemini_sse)
		ML_PUT(o, "\r\n\r\n");
}

/* One GenerateContentResponse with the given candidate part(s). */
static void gm_response(struct ml_reply *r, struct ml_buf *o, uint32_t first, uint32_t n,
			bool last, uint32_t done_tokens)
{
	ML_PUT(o, "{\"candidates\":[{\"content\":{\"parts\":[");
	if (ml_reply_tool(r)) {
		ML_PUT(o, "{\"functionCall\":{\"name\":\"");
		ml_buf_puts(o, r->knobs.tool);
		ML_PUT(o, "\",\"args\":");
		ml_reply_args(r, 0, o, 0);
		ML_PUT(o, "}}");
	} else {
		ML_PUT(o, "{\"text\":\"");
		for (uint32_t i = first; i < first + n; i++)
			ml_reply_word(r, i, o, 1);
		ML_PUT(o, "\"}");
	}
	ML_PUT(o, "],\"role\":\"model\"}");
	if (last)
		ML_PUT(o, ",\"finishReason\":\"STOP\"");
	ML_PUT(o, ",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":");
	ml_buf_u64(o, r->prompt_tokens);
	ML_PUT(o, ",\"candidatesTokenCount\":");
	ml_buf_u64(o, done_tokens);
	ML_PUT(o, ",\"totalTokenCount\":");
	ml_buf_u64(o, (uint64_t)r->prompt_tokens + done_tokens);
	ML_PUT(o, "},\"modelVersion\":\"");
	ml_buf_put(o, r->model.p, r->model.len);
	ML_PUT(o, "\",\"responseId\":\"mock");
	ml_buf_u64(o, r->id);
	ML_PUT(o, "\"}");
}

static void gm_head(struct ml_reply *r, struct ml_buf *o)
{
	(void)r;
	(void)o;
}

static void gm_chunk(struct ml_reply *r, struct ml_buf *o)
{
	bool last = r->sent + 1 == r->chunks;
	uint32_t done = ml_reply_tool(r) ? r->tokens : r->sent + 1;
	gm_open(r, o);
	gm_response(r, o, r->sent, 1, last, done);
	gm_close(r, o);
}

static void gm_finish(struct ml_reply *r, struct ml_buf *o)
{
	/* No content at all still ends with a finishReason. */
	if (r->chunks == 0) {
		gm_open(r, o);
		gm_response(r, o, 0, 0, true, 0);
		gm_close(r, o);
	}
	if (!r->gemini_sse)
		ml_buf_putc(o, ']');
}

static void gm_error(struct ml_reply *r, struct ml_buf *o)
{
	gm_open(r, o);
	ML_PUT(o, "{\"error\":{\"code\":500,\"message\":\"An internal error has occurred. Please retry "
		  "or report in https://developers.generativeai.google/guide/troubleshooting\","
		  "\"status\":\"INTERNAL\"}}");
	gm_close(r, o);
	if (!r->gemini_sse)
		ml_buf_putc(o, ']');
}

static void gm_malformed(struct ml_reply *r, struct ml_buf *o)
{
	gm_open(r, o);
	ML_PUT(o, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":");
	gm_close(r, o);
}

static void gm_whole(struct ml_reply *r, struct ml_buf *o)
{
	gm_response(r, o, 0, r->tokens, true, r->tokens);
}

/* google.rpc.Code names for the HTTP statuses Gemini maps them to. */
static const char *gm_rpc_status(int status)
{
	switch (status) {
	case 400: return "INVALID_ARGUMENT";
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 409: return "ABORTED";
	case 429: return "RESOURCE_EXHAUSTED";
	case 499: return "CANCELLED";
	case 500: return "INTERNAL";
	case 501: return "UNIMPLEMENTED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
	}
}

static void gm_status_body(const struct ml_reply *r, int status, const char *msg, struct ml_buf *o)
{
	(void)r;
	const char *text = "The request was rejected (mockllm injected this status).";
	if (status == 429)
		text = "Resource has been exhausted (e.g. check quota).";
	else if (status == 503)
		text = "The model is overloaded. Please try again later.";
	else if (status == 500)
		text = "An internal error has occurred. Please retry or report in "
		       "https://developers.generativeai.google/guide/troubleshooting";
	msg = msg ? msg : text;
	ML_PUT(o, "{\n  \"error\": {\n    \"code\": ");
	ml_buf_u64(o, (uint64_t)status);
	ML_PUT(o, ",\n    \"message\": \"");
	ml_buf_json(o, msg, strlen(msg), 1);
	ML_PUT(o, "\",\n    \"status\": \"");
	ml_buf_puts(o, gm_rpc_status(status));
	ML_PUT(o, "\"\n  }\n}\n");
}

const struct ml_fmt_ops ml_fmt_gemini = {
	.ctype_stream = "text/event-stream",
	.ctype_json = "application/json; charset=UTF-8",
	.id_header = NULL,
	.begin = gm_begin,
	.head = gm_head,
	.chunk = gm_chunk,
	.finish = gm_finish,
	.error = gm_error,
	.malformed = gm_malformed,
	.whole = gm_whole,
	.status_body = gm_status_body,
};
