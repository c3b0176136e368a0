/*
 * harness_mockllm_run.c — one test's world on mockllm (a mockllm, a sidecar
 * on it, a client), requests read to their end, and the collector of what
 * h_stream does not keep (see harness_mockllm.h).
 */
#include "harness_mockllm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

/* ---- the world ------------------------------------------------------------------------ */

const char *h_ml_alias_add(struct h_ml_aliases *as, const char *alias, const struct h_ml_kind *kd,
			   const char *knobs)
{
	cr_assert(as->n < H_ML_MAX_ALIASES, "more than %d aliases", H_ML_MAX_ALIASES);
	size_t i = as->n++;
	snprintf(as->alias[i], sizeof as->alias[i], "%s", alias);
	if (knobs)
		snprintf(as->model[i], sizeof as->model[i], "%s@%s", kd->model, knobs);
	else
		snprintf(as->model[i], sizeof as->model[i], "%s", kd->model);
	as->a[i] = (struct h_ml_alias){ as->alias[i], kd->provider, as->model[i] };
	return as->model[i];
}

void h_ml_up(struct h_ml_env *e, const char *limits, const char *prov_extra,
	     const struct h_ml_aliases *as)
{
	memset(e, 0, sizeof *e);
	h_ml_start(&e->ml);
	h_ml_sidecar(&e->sc, e->ml.port, limits, prov_extra, as->a, as->n);
	e->c = h_connect(&e->sc);
}

void h_ml_down(struct h_ml_env *e)
{
	rs_close(e->c);
	e->c = NULL;
	h_stop(&e->sc);
	h_ml_stop(&e->ml);
}

/* ---- one request ------------------------------------------------------------------------ */

void h_ml_run(struct h_ml_env *e, const char *alias, int stream, struct h_ml_res *r)
{
	memset(r, 0, sizeof *r);
	char *b = h_body(H_ML_PROMPT, stream, -1, -1, -1, -1);
	int rc = h_ml_collect(e->c, alias, b, &r->set, &r->o);
	free(b);
	cr_assert(rc == RS_OK, "%s: %s; sidecar log:\n%s", alias, rs_strerror(rc),
		  h_log_tail(&e->sc));
	r->st = &r->set.v[0];
}

void h_ml_res_free(struct h_ml_res *r)
{
	h_set_free(&r->set);
	h_ml_obs_free(&r->o);
	r->st = NULL;
}

void h_ml_assert_done(const struct h_ml_res *r, const struct h_ml_kind *kd, const char *model,
		      const char *text, uint32_t completion, const char *finish)
{
	char why[512];
	cr_assert(h_check_done(r->st, kd->provider, model, text, H_ML_WORDS, completion, finish, why,
			       sizeof why) == 0,
		  "%s: %s", kd->kind, why);
	cr_assert(r->o.n_tool == 0, "%s: %u TOOL_DELTA in a text reply", kd->kind, r->o.n_tool);
}

/* ---- the collector --------------------------------------------------------------------- */

void h_ml_obs_init(struct h_ml_obs *o, uint64_t id)
{
	memset(o, 0, sizeof *o);
	o->id = id;
	o->http_status = -1;
	o->retryable = -1;
}

void h_ml_obs_free(struct h_ml_obs *o)
{
	free(o->args);
	o->args = NULL;
}

static void h_ml_copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

void h_ml_obs_event(struct h_ml_obs *o, const struct rs_event *ev)
{
	if (ev->stream != o->id)
		return;
	switch (ev->type) {
	case RS_EV_TOOL_DELTA:
		if (ev->tool.index != 0 || (o->n_tool && (ev->tool.id_len || ev->tool.name_len)))
			o->n_tool_bad++;
		if (!o->n_tool) {
			h_ml_copy(o->tool_id, sizeof o->tool_id, ev->tool.id, ev->tool.id_len);
			h_ml_copy(o->tool_name, sizeof o->tool_name, ev->tool.name, ev->tool.name_len);
		}
		o->n_tool++;
		if (o->args_len + ev->text_len + 1 > o->args_cap) {
			size_t cap = o->args_cap ? o->args_cap : 256;
			while (cap < o->args_len + ev->text_len + 1)
				cap *= 2;
			char *p = realloc(o->args, cap);
			if (!p)
				abort();
			o->args = p;
			o->args_cap = cap;
		}
		memcpy(o->args + o->args_len, ev->text, ev->text_len);
		o->args_len += ev->text_len;
		o->args[o->args_len] = 0;
		break;
	case RS_EV_ERROR:
		o->http_status = ev->error.http_status;
		o->retryable = ev->error.retryable;
		break;
	default:
		break;
	}
}

int h_ml_collect(rs_client *c, const char *alias, const char *body, struct h_set *set,
		 struct h_ml_obs *o)
{
	struct rs_request rq = { .model = alias, .body = body, .body_len = strlen(body) };
	uint64_t id;
	int rc = rs_submit(c, &rq, &id);
	if (rc)
		return rc;
	h_set_add(set, id);
	h_ml_obs_init(o, id);
	while (set->open) {
		struct rs_event ev;
		rc = rs_next(c, &ev, H_EVENT_MS);
		if (rc)
			return rc;
		h_set_event(set, &ev);
		h_ml_obs_event(o, &ev);
	}
	return RS_OK;
}
