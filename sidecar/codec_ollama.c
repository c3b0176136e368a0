/*
 * codec_ollama.c — Ollama's native chat API (POST /api/chat, NDJSON).
 *
 * The request is close to OpenAI's: the same roles and tools, but content
 * is one string (images ride beside it as bare base64), tool-call
 * arguments are a JSON object rather than a string, and sampling
 * parameters live in "options". Ollama has no tool_choice: "none" drops
 * the tools, a named function keeps only that tool, "required" keeps them
 * all (Ollama can offer tools, never force one).
 *
 * The streamed reply is one JSON object per line; the line with
 * "done":true carries the finish reason and token counts, and a stream
 * that ends without it was cut short. After HTTP 200 an error comes as a
 * line {"error":"..."} and the stream stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chatreq.h"
#include "codec_util.h"
#include "config.h"
#include "ringside.h"

/* ---- request ------------------------------------------------------------------- */

/* A user message's content: text parts joined with LF, images (base64
 * data URLs of an image type: Ollama takes nothing else) as "images". */
static int ol_user_content(json_t *msg, size_t mi, json_t *out, char *err, size_t errlen)
{
	json_t *content = json_object_get(msg, "content"), *part, *images;
	size_t pi, total = 0, off = 0;
	char *buf;
	int rc;

	if (json_is_string(content))
		return cu_put(out, "content", json_incref(content));
	if (!(images = json_array()))
		return -ENOMEM;
	json_array_foreach(content, pi, part) {
		const char *type = json_string_value(json_object_get(part, "type"));
		json_t *url = json_object_get(json_object_get(part, "image_url"), "url");
		struct cu_data_url du;
		if (!strcmp(type, "text")) {
			total += json_string_length(json_object_get(part, "text")) + 1;
			continue;
		}
		if (strcmp(type, "image_url")) {
			json_decref(images);
			return cu_einval(
				err, errlen,
				"messages[%zu].content[%zu].type: ollama does not take %.32s parts",
				mi, pi, type);
		}
		if (!json_is_string(url) ||
		    cu_data_url(json_string_value(url), json_string_length(url), &du) ||
		    du.mime_len < 6 || strncasecmp(du.mime, "image/", 6)) {
			json_decref(images);
			return cu_einval(
				err, errlen,
				"messages[%zu].content[%zu].image_url.url: ollama takes only base64 image data URLs",
				mi, pi);
		}
		if ((rc = cu_push(images, json_stringn(du.b64, du.b64_len)))) {
			json_decref(images);
			return rc;
		}
	}
	if (!(buf = malloc(total + 1))) {
		json_decref(images);
		return -ENOMEM;
	}
	json_array_foreach(content, pi, part) {
		json_t *t = json_object_get(part, "text");
		if (strcmp(json_string_value(json_object_get(part, "type")), "text"))
			continue;
		if (off)
			buf[off++] = '\n';
		memcpy(buf + off, json_string_value(t), json_string_length(t));
		off += json_string_length(t);
	}
	rc = cu_put(out, "content", json_stringn_nocheck(buf, off));
	free(buf);
	if (!rc && json_array_size(images))
		return cu_put(out, "images", images);
	json_decref(images);
	return rc;
}

static int ol_tool_calls(json_t *msg, size_t mi, json_t *out, char *err, size_t errlen)
{
	json_t *calls = json_object_get(msg, "tool_calls"), *c, *arr;
	size_t ci;
	int rc;

	if (!calls || json_is_null(calls))
		return 0;
	if (!json_is_array(calls))
		return cu_einval(err, errlen, "messages[%zu].tool_calls: expected an array", mi);
	if (!json_array_size(calls))
		return 0;
	if (!(arr = json_array()))
		return -ENOMEM;
	json_array_foreach(calls, ci, c) {
		const char *name;
		json_t *args;
		if ((rc = cu_tool_call(c, mi, ci, &name, &args, err, errlen))) {
			json_decref(arr);
			return rc;
		}
		rc = cu_push(arr, json_pack("{s:{s:s, s:O}}", "function", "name", name, "arguments",
					    args));
		json_decref(args);
		if (rc) {
			json_decref(arr);
			return rc;
		}
	}
	return cu_put(out, "tool_calls", arr);
}

static int ol_message(json_t *msgs, size_t mi, json_t *out_msgs, char *err, size_t errlen)
{
	json_t *msg = json_array_get(msgs, mi), *m = json_object(), *text = NULL;
	const char *role = json_string_value(json_object_get(msg, "role"));
	int rc;

	if (!m)
		return -ENOMEM;
	/* Ollama's templates know system, not OpenAI's newer developer. */
	rc = cu_put(m, "role", json_string(!strcmp(role, "developer") ? "system" : role));
	if (rc)
		goto out;
	if (!strcmp(role, "user")) {
		rc = ol_user_content(msg, mi, m, err, errlen);
	} else if (!(rc = cu_text(msg, mi, "ollama", &text, err, errlen))) {
		rc = cu_put(m, "content", text);
	}
	if (rc)
		goto out;
	if (!strcmp(role, "assistant")) {
		rc = ol_tool_calls(msg, mi, m, err, errlen);
	} else if (!strcmp(role, "tool")) {
		/* Newer Ollama matches a result to its call by tool_name;
		 * older ones ignore the key. */
		const char *id = json_string_value(json_object_get(msg, "tool_call_id"));
		const char *name = id ? cu_tool_call_name(msgs, mi, id) : NULL;
		if (name)
			rc = cu_put(m, "tool_name", json_string(name));
	}
	if (!rc)
		return cu_push(out_msgs, m);
out:
	json_decref(m);
	return rc;
}

static int ol_param(json_t *root, json_t *opts, const char *okey, const char *key, int integer,
		    char *err, size_t errlen)
{
	json_t *v;
	int rc = integer ? cu_opt_integer(root, okey, &v, err, errlen)
			 : cu_opt_number(root, okey, &v, err, errlen);

	return rc || !v ? rc : cu_put(opts, key, v);
}

static int ol_options(const struct chatreq *req, json_t *body, char *err, size_t errlen)
{
	json_t *root = req->root, *opts = json_object(), *stop, *schema;
	int rc, rf;

	if (!opts)
		return -ENOMEM;
	if ((rc = cu_check_n(root, "ollama", err, errlen)) ||
	    (req->max_tokens > 0 &&
	     (rc = cu_put(opts, "num_predict", json_integer(req->max_tokens)))) ||
	    (rc = ol_param(root, opts, "temperature", "temperature", 0, err, errlen)) ||
	    (rc = ol_param(root, opts, "top_p", "top_p", 0, err, errlen)) ||
	    (rc = ol_param(root, opts, "presence_penalty", "presence_penalty", 0, err, errlen)) ||
	    (rc = ol_param(root, opts, "frequency_penalty", "frequency_penalty", 0, err, errlen)) ||
	    (rc = ol_param(root, opts, "seed", "seed", 1, err, errlen)) ||
	    (rc = cu_opt_stop(root, &stop, err, errlen)) ||
	    (stop && (rc = cu_put(opts, "stop", stop))))
		goto out;
	if (json_object_size(opts)) {
		rc = cu_put(body, "options", opts);
		opts = NULL;
		if (rc)
			goto out;
	}
	rf = cu_response_format(root, &schema, err, errlen);
	if (rf < 0)
		rc = rf;
	else if (rf == CU_RF_JSON)
		rc = cu_put(body, "format", json_string("json"));
	else if (rf == CU_RF_SCHEMA)
		rc = cu_put(body, "format", json_incref(schema));
out:
	json_decref(opts);
	return rc;
}

/* tools pass through in OpenAI's shape, which Ollama takes as it is. */
static int ol_tools(json_t *root, json_t *body, char *err, size_t errlen)
{
	json_t *tools = json_object_get(root, "tools"), *tc = json_object_get(root, "tool_choice");
	json_t *t, *keep;
	const char *choice = json_string_value(tc), *only = NULL;
	size_t i;

	if (!tools || json_is_null(tools))
		return 0;
	if (!json_is_array(tools))
		return cu_einval(err, errlen, "tools: expected an array");
	if (tc && !json_is_null(tc) && !choice) {
		only = json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
		if (!only || !*only)
			return cu_einval(
				err, errlen,
				"tool_choice: expected a string or {type: function, function: {name}}");
	}
	if (choice && strcmp(choice, "none") && strcmp(choice, "auto") &&
	    strcmp(choice, "required"))
		return cu_einval(err, errlen,
				 "tool_choice: expected none, auto, required or a function");
	if (choice && !strcmp(choice, "none"))
		return 0;
	json_array_foreach(tools, i, t) {
		const char *type = json_string_value(json_object_get(t, "type"));
		const char *name =
			json_string_value(json_object_get(json_object_get(t, "function"), "name"));
		if (!type || strcmp(type, "function") || !name || !*name)
			return cu_einval(
				err, errlen,
				"tools[%zu]: expected {type: function, function: {name, ...}}", i);
	}
	if (!only)
		return json_array_size(tools) ? cu_put(body, "tools", json_incref(tools)) : 0;
	if (!(keep = json_array()))
		return -ENOMEM;
	json_array_foreach(tools, i, t) {
		const char *name =
			json_string_value(json_object_get(json_object_get(t, "function"), "name"));
		if (!strcmp(name, only) && cu_push(keep, json_incref(t))) {
			json_decref(keep);
			return -ENOMEM;
		}
	}
	if (!json_array_size(keep)) {
		json_decref(keep);
		return cu_einval(err, errlen, "tool_choice: names a function that is not in tools");
	}
	return cu_put(body, "tools", keep);
}

static int ol_build(const struct pc_target *t, const struct chatreq *req, int stream,
		    struct pc_http *out, char *err, size_t errlen)
{
	json_t *body = NULL, *msgs, *model, *src;
	json_error_t je = { .line = 0 };
	size_t mi;
	int rc;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = 0;
	if ((rc = cu_check_target(t, req, err, errlen)))
		return rc;
	src = json_object_get(req->root, "messages");
	/* json_pack_ex tells bad UTF-8 from no memory; json_string cannot. */
	if (!(model = json_pack_ex(&je, 0, "s", t->model))) {
		if (json_error_code(&je) == json_error_invalid_utf8)
			return cu_einval(err, errlen, "upstream model name is not valid UTF-8");
		rc = -ENOMEM;
		goto fail;
	}
	rc = -ENOMEM;
	if (!(body = json_object()))
		goto fail;
	rc = cu_put(body, "model", model);
	model = NULL;
	if (rc)
		goto fail;
	rc = -ENOMEM;
	if (!(msgs = json_array()) || cu_put(body, "messages", msgs) ||
	    cu_put(body, "stream", json_boolean(stream)))
		goto fail;
	for (mi = 0; mi < json_array_size(src); mi++)
		if ((rc = ol_message(src, mi, msgs, err, errlen)))
			goto fail;
	if ((rc = ol_options(req, body, err, errlen)) ||
	    (rc = ol_tools(req->root, body, err, errlen)) || (rc = cu_set_body(out, body)))
		goto fail;
	rc = -ENOMEM;
	if (asprintf(&out->url, "%s/api/chat", t->prov->base_url) < 0) {
		out->url = NULL;
		goto fail;
	}
	if ((rc = pc_http_header(out, "Content-Type: application/json")) ||
	    (t->prov->api_key && *t->prov->api_key &&
	     (rc = pc_http_header(out, "Authorization: Bearer %s", t->prov->api_key))))
		goto fail;
	out->format = stream ? PC_FMT_NDJSON : PC_FMT_JSON;
	json_decref(body);
	return 0;
fail:
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	json_decref(model);
	json_decref(body);
	pc_http_free(out);
	return rc;
}

/* ---- reply ------------------------------------------------------------------------- */

struct ol_dec {
	uint32_t n_tools; /* tool calls emitted so far */
};

/* One ChatResponse object: a streamed line, or the whole unstreamed body. */
static int ol_response(struct pc_dec *d, json_t *root, const struct uev_sink *s)
{
	struct ol_dec *o = d->priv;
	json_t *err = json_object_get(root, "error"), *msg = json_object_get(root, "message");
	json_t *think = json_object_get(msg, "thinking"), *text = json_object_get(msg, "content");
	json_t *calls = json_object_get(msg, "tool_calls"), *c, *pc, *cc;
	const char *why;
	size_t i;
	int rc;

	if (err && !json_is_null(err)) {
		/* Written once the reply was under way: the model runner
		 * failed, which another attempt usually gets past. */
		const char *m = json_is_string(err)
					? json_string_value(err)
					: json_string_value(json_object_get(err, "message"));
		return cu_fail(d, s, RS_ERR_UPSTREAM, 0, 1, "%.400s",
			       m && *m ? m : "ollama: error");
	}
	if (json_string_length(think) &&
	    (rc = s->text(s->arg, UEV_REASONING, json_string_value(think),
			  json_string_length(think))))
		return rc;
	if (json_string_length(text) &&
	    (rc = s->text(s->arg, UEV_TEXT, json_string_value(text), json_string_length(text))))
		return rc;
	json_array_foreach(calls, i, c) {
		json_t *fn = json_object_get(c, "function"), *name = json_object_get(fn, "name");
		if (!json_string_length(name))
			return cu_fail(d, s, RS_ERR_UPSTREAM, 0, 0,
				       "ollama: tool call without a name");
		/* Ollama has no call ids (newer builds may send one). */
		if ((rc = cu_tool_event(s, o->n_tools, json_object_get(c, "id"),
					json_string_value(name), json_string_length(name),
					json_object_get(fn, "arguments"))))
			return rc;
		o->n_tools++;
	}
	if (!json_is_true(json_object_get(root, "done")))
		return 0;
	/* The counts are omitempty: one may be missing (a fully cached
	 * prompt has no prompt_eval_count); report what is there. */
	pc = json_object_get(root, "prompt_eval_count");
	cc = json_object_get(root, "eval_count");
	if ((pc || cc) && (rc = s->usage(s->arg, cu_u32(pc), cu_u32(cc))))
		return rc;
	why = json_string_value(json_object_get(root, "done_reason"));
	/* load and unload end a reply that generated nothing; anything else
	 * Ollama may add later ends it too. */
	if (why && !strcmp(why, "length"))
		return pc_finish(d, s, "length", why);
	return pc_finish(d, s, o->n_tools ? "tool_calls" : "stop", why);
}

static int ol_on_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		       size_t data_len, const struct uev_sink *s)
{
	json_t *root;
	int rc, nomem;

	(void)ev;
	(void)ev_len;
	if (d->done)
		return 0;
	root = cu_parse(data, data_len, &nomem);
	if (!json_is_object(root)) {
		json_decref(root);
		return nomem ? -ENOMEM
			     : cu_fail(d, s, RS_ERR_UPSTREAM, 0, 0,
				       "ollama: malformed NDJSON line");
	}
	rc = ol_response(d, root, s);
	json_decref(root);
	return rc;
}

static int ol_on_end(struct pc_dec *d, const struct uev_sink *s)
{
	if (d->done)
		return 0;
	return cu_fail(d, s, RS_ERR_TRUNCATED, 0, 1, "ollama: stream ended before done:true");
}

static int ol_on_body(struct pc_dec *d, const char *body, size_t len, const struct uev_sink *s)
{
	int rc = ol_on_event(d, NULL, 0, body, len, s);

	return rc ? rc : ol_on_end(d, s);
}

static int ol_on_error(struct pc_dec *d, int status, const char *body, size_t len,
		       const struct uev_sink *s)
{
	json_t *root, *e;
	const char *m;
	int rc;

	if (d->done)
		return 0;
	/* Unparseable for any reason: the status alone is reported. */
	root = cu_parse(body, len, NULL);
	e = json_object_get(root, "error");
	m = json_is_string(e) ? json_string_value(e)
			      : json_string_value(json_object_get(e, "message"));
	if (m && *m)
		rc = cu_fail(d, s, pc_status_code(status), status, pc_status_retryable(status),
			     "%.400s", m);
	else
		rc = cu_fail(d, s, pc_status_code(status), status, pc_status_retryable(status),
			     "ollama: HTTP %d", status);
	json_decref(root);
	return rc;
}

static int ol_dec_init(struct pc_dec *d)
{
	d->done = 0;
	d->priv = calloc(1, sizeof(struct ol_dec));
	return d->priv ? 0 : -ENOMEM;
}

static void ol_dec_free(struct pc_dec *d)
{
	free(d->priv);
	d->priv = NULL;
}

const struct pc_codec pc_ollama = {
	.kind = "ollama",
	.flags = 0,
	.build = ol_build,
	.dec_init = ol_dec_init,
	.dec_free = ol_dec_free,
	.on_event = ol_on_event,
	.on_end = ol_on_end,
	.on_body = ol_on_body,
	.on_error = ol_on_error,
};
