/*
 * provider.c — from a configured provider kind to its adapter.
 */
#include "provider.h"

#include <stddef.h>

const struct provider_ops *provider_ops_for(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_KIND_MOCK:
		return &provider_mock;
	}
	return NULL;
}
