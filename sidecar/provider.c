/*
 * provider.c — from a configured provider kind to its adapter and codec.
 */
#include "provider.h"

#include <stddef.h>

#include "pcodec.h"

const struct provider_ops *provider_ops_for(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_KIND_MOCK:
		return &provider_mock;
	case CFG_KIND_OPENAI:
	case CFG_KIND_AZURE:
	case CFG_KIND_ANTHROPIC:
	case CFG_KIND_GEMINI:
	case CFG_KIND_OLLAMA:
		return &provider_http;
	}
	return NULL;
}

const struct pc_codec *pc_codec_for(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_KIND_OPENAI: return &pc_openai;
	case CFG_KIND_AZURE: return &pc_azure;
	case CFG_KIND_ANTHROPIC: return &pc_anthropic;
	case CFG_KIND_GEMINI: return &pc_gemini;
	case CFG_KIND_OLLAMA: return &pc_ollama;
	case CFG_KIND_MOCK: break;
	}
	return NULL;
}
