/*
 * test_chatreq.c — chat.completions request validation, valid and hostile.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/chatreq.h"

#define CRQ_ERRLEN 256
/* Longest run of client bytes an error message may carry (the brief's ~60). */
#define CRQ_MAX_ECHO 60

static int crq_parse(struct chatreq *r, const char *body, char *err)
{
	return chatreq_parse(r, body, strlen(body), err, CRQ_ERRLEN);
}

/* Every error is one line of printable ASCII of modest length. */
static void crq_assert_clean_err(const char *err)
{
	size_t i, n = strlen(err);

	cr_assert(n > 0, "empty error message");
	cr_assert(n < 200, "error message too long: %zu bytes", n);
	for (i = 0; i < n; i++)
		cr_assert(err[i] >= 0x20 && err[i] <= 0x7e, "byte %zu of error is 0x%02x", i,
			  (unsigned char)err[i]);
}

/* A failed parse leaves nothing owned and says why. */
static void crq_assert_fails(const char *body, size_t len, const char *msg)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];
	int rc;

	rc = chatreq_parse(&r, body, len, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "body accepted, expected: %s", msg ? msg : "any error");
	cr_assert_null(r.root);
	cr_assert_null(r.last_user_buf);
	crq_assert_clean_err(err);
	if (msg)
		cr_assert_str_eq(err, msg);
	chatreq_free(&r);
}

static void crq_assert_fails_str(const char *body, const char *msg)
{
	crq_assert_fails(body, strlen(body), msg);
}

static void crq_assert_ok(const char *body, size_t len)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];

	cr_assert_eq(chatreq_parse(&r, body, len, err, sizeof(err)), 0, "rejected: %s", err);
	chatreq_free(&r);
}

static void crq_assert_ok_str(const char *body)
{
	crq_assert_ok(body, strlen(body));
}

/* ---- valid requests ------------------------------------------------------ */

Test(chatreq, minimal)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];

	cr_assert_eq(crq_parse(&r, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", err), 0,
		     "%s", err);
	cr_assert_not_null(r.root);
	cr_assert_eq(r.stream, 0);
	cr_assert_eq(r.max_tokens, -1);
	cr_assert_eq(r.last_user_len, 2);
	cr_assert_eq(memcmp(r.last_user, "hi", 2), 0);
	cr_assert_eq(r.prompt_words, 1);
	cr_assert_eq(r.mock_tokens, -1);
	cr_assert_eq(r.mock_ttft_us, -1);
	cr_assert_eq(r.mock_interval_us, -1);
	cr_assert_null(r.last_user_buf, "a string content is not copied");
	chatreq_free(&r);
	chatreq_free(&r);
}

static const char crq_rich[] =
	"{\"model\":\"gpt-4o\",\"temperature\":0.2,\"top_p\":1,\"n\":1,"
	"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}],"
	"\"metadata\":{\"a\":{\"b\":[1,2,{\"c\":null}]}},"
	"\"messages\":["
	"{\"role\":\"system\",\"content\":\"You are terse.\"},"
	"{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Answer in English\"}]},"
	"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is \"},"
	"{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}},"
	"{\"type\":\"text\",\"text\":\"this?\"}],\"name\":\"bob\"},"
	"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
	"\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
	"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny, 21 C\"},"
	"{\"role\":\"user\",\"content\":\"and\\ttomorrow \\u00e9t\\u00e9?\"},"
	"{\"role\":\"assistant\",\"content\":\"Also sunny.\"}"
	"],"
	"\"stream\":true,\"stream_options\":{\"include_usage\":true},"
	"\"max_tokens\":100,\"max_completion_tokens\":50,"
	"\"mock\":{\"tokens\":7,\"ttft_us\":1000,\"interval_us\":0,\"future_knob\":\"x\"}}";

Test(chatreq, rich_request)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];
	const char *want = "and\ttomorrow \xc3\xa9t\xc3\xa9?";

	cr_assert_eq(crq_parse(&r, crq_rich, err), 0, "%s", err);
	cr_assert_eq(r.stream, 1);
	cr_assert_eq(r.max_tokens, 50, "max_completion_tokens wins over max_tokens");
	/* The last user message, not the assistant turn after it. */
	cr_assert_eq(r.last_user_len, strlen(want));
	cr_assert_eq(memcmp(r.last_user, want, strlen(want)), 0);
	/* You are terse. (3) Answer in English (3) What is / this? (3)
	 * sunny, 21 C (3) and tomorrow été? (3) Also sunny. (2) */
	cr_assert_eq(r.prompt_words, 17);
	cr_assert_eq(r.mock_tokens, 7);
	cr_assert_eq(r.mock_ttft_us, 1000);
	cr_assert_eq(r.mock_interval_us, 0);
	chatreq_free(&r);
	cr_assert_null(r.root);
}

Test(chatreq, text_parts_are_concatenated)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];

	cr_assert_eq(crq_parse(&r, "{\"messages\":[{\"role\":\"user\",\"content\":["
				   "{\"type\":\"text\",\"text\":\"Hello \"},"
				   "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
				   "{\"type\":\"text\",\"text\":\"wor\"},"
				   "{\"type\":\"text\",\"text\":\"ld\"}]}]}", err), 0, "%s", err);
	cr_assert_eq(r.last_user_len, 11);
	cr_assert_eq(memcmp(r.last_user, "Hello world", 11), 0);
	cr_assert_not_null(r.last_user_buf);
	/* Words are counted per text part: "Hello", "wor", "ld". */
	cr_assert_eq(r.prompt_words, 3);
	chatreq_free(&r);
}

Test(chatreq, single_text_part_and_no_text_part)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];

	cr_assert_eq(crq_parse(&r, "{\"messages\":[{\"role\":\"user\",\"content\":["
				   "{\"type\":\"text\",\"text\":\"just one\"}]}]}", err), 0, "%s", err);
	cr_assert_eq(r.last_user_len, 8);
	cr_assert_eq(memcmp(r.last_user, "just one", 8), 0);
	cr_assert_null(r.last_user_buf);
	chatreq_free(&r);

	cr_assert_eq(crq_parse(&r, "{\"messages\":[{\"role\":\"user\",\"content\":["
				   "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AA==\"}}]}]}",
			       err), 0, "%s", err);
	cr_assert_not_null(r.last_user);
	cr_assert_eq(r.last_user_len, 0);
	cr_assert_eq(r.prompt_words, 0);
	chatreq_free(&r);
}

Test(chatreq, stream_and_token_keys)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];
	const char *m = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
	char body[512];

	snprintf(body, sizeof(body), "{%s,\"stream\":false}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.stream, 0);
	chatreq_free(&r);

	snprintf(body, sizeof(body), "{%s,\"stream\":null,\"max_tokens\":null,\"mock\":null}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.stream, 0);
	cr_assert_eq(r.max_tokens, -1);
	cr_assert_eq(r.mock_tokens, -1);
	chatreq_free(&r);

	snprintf(body, sizeof(body), "{%s,\"max_tokens\":12}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.max_tokens, 12);
	chatreq_free(&r);

	snprintf(body, sizeof(body), "{\"max_completion_tokens\":1,%s}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.max_tokens, 1);
	chatreq_free(&r);

	snprintf(body, sizeof(body), "{%s,\"max_tokens\":1000000000,\"max_completion_tokens\":null}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.max_tokens, 1000000000);
	chatreq_free(&r);

	snprintf(body, sizeof(body),
		 "{%s,\"mock\":{\"tokens\":10000000,\"ttft_us\":60000000,\"interval_us\":60000000}}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.mock_tokens, 10000000);
	cr_assert_eq(r.mock_ttft_us, 60000000);
	cr_assert_eq(r.mock_interval_us, 60000000);
	chatreq_free(&r);

	snprintf(body, sizeof(body), "{%s,\"mock\":{\"tokens\":0}}", m);
	cr_assert_eq(crq_parse(&r, body, err), 0, "%s", err);
	cr_assert_eq(r.mock_tokens, 0);
	cr_assert_eq(r.mock_ttft_us, -1);
	chatreq_free(&r);
}

Test(chatreq, word_counting)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];

	cr_assert_eq(crq_parse(&r, "{\"messages\":["
				   "{\"role\":\"system\",\"content\":\"\"},"
				   "{\"role\":\"user\",\"content\":\" \\t\\n\\r\\f\\u000b \"},"
				   "{\"role\":\"assistant\"},"
				   "{\"role\":\"user\",\"content\":\"  a\\tb\\nc\\rd\\fe\\u000bf  g \"}]}",
			       err), 0, "%s", err);
	cr_assert_eq(r.prompt_words, 7);
	chatreq_free(&r);
}

Test(chatreq, error_argument_handling)
{
	struct chatreq r;
	char small[8];

	/* No err buffer at all. */
	cr_assert_eq(chatreq_parse(&r, "[]", 2, NULL, 0), -EINVAL);
	cr_assert_eq(chatreq_parse(&r, "{}", 2, NULL, 123), -EINVAL);
	/* A short buffer is truncated and still terminated. */
	cr_assert_eq(chatreq_parse(&r, "{}", 2, small, sizeof(small)), -EINVAL);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_str_eq(small, "message");
	/* NULL body is an empty body. */
	cr_assert_eq(chatreq_parse(&r, NULL, 0, small, sizeof(small)), -EINVAL);
	cr_assert_eq(chatreq_parse(&r, NULL, 10, NULL, 0), -EINVAL);
}

/* ---- every validation rule, with its message ----------------------------- */

struct crq_case {
	const char *body;
	const char *msg;
};

#define CRQ_U "{\"role\":\"user\",\"content\":\"x\"}"

static const struct crq_case crq_invalid[] = {
	{ "[]", "body: expected a JSON object" },
	{ "[{\"role\":\"user\",\"content\":\"x\"}]", "body: expected a JSON object" },
	{ "{}", "messages: required" },
	{ "{\"messages\":null}", "messages: expected an array" },
	{ "{\"messages\":{}}", "messages: expected an array" },
	{ "{\"messages\":\"hi\"}", "messages: expected an array" },
	{ "{\"messages\":[]}", "messages: expected at least one message" },
	{ "{\"messages\":[\"hi\"]}", "messages[0]: expected an object" },
	{ "{\"messages\":[" CRQ_U ",null]}", "messages[1]: expected an object" },
	{ "{\"messages\":[" CRQ_U ",[]]}", "messages[1]: expected an object" },
	{ "{\"messages\":[{\"content\":\"x\"}]}", "messages[0].role: required" },
	{ "{\"messages\":[" CRQ_U "," CRQ_U ",{\"role\":\"robot\",\"content\":\"x\"}]}",
	  "messages[2].role: expected one of system, developer, user, assistant, tool" },
	{ "{\"messages\":[{\"role\":1,\"content\":\"x\"}]}",
	  "messages[0].role: expected one of system, developer, user, assistant, tool" },
	{ "{\"messages\":[{\"role\":null,\"content\":\"x\"}]}",
	  "messages[0].role: expected one of system, developer, user, assistant, tool" },
	{ "{\"messages\":[{\"role\":\"User\",\"content\":\"x\"}]}",
	  "messages[0].role: expected one of system, developer, user, assistant, tool" },
	{ "{\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}",
	  "messages[0].role: expected one of system, developer, user, assistant, tool" },
	{ "{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content: required for role user" },
	{ "{\"messages\":[" CRQ_U ",{\"role\":\"tool\"}]}",
	  "messages[1].content: required for role tool" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":null}]}",
	  "messages[0].content: null is not allowed for role user" },
	{ "{\"messages\":[{\"role\":\"system\",\"content\":null}," CRQ_U "]}",
	  "messages[0].content: null is not allowed for role system" },
	{ "{\"messages\":[" CRQ_U ",{\"role\":\"tool\",\"content\":null}]}",
	  "messages[1].content: null is not allowed for role tool" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":42}]}",
	  "messages[0].content: expected a string or an array of parts" },
	{ "{\"messages\":[{\"role\":\"assistant\",\"content\":{}}," CRQ_U "]}",
	  "messages[0].content: expected a string or an array of parts" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":true}]}",
	  "messages[0].content: expected a string or an array of parts" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[]}]}",
	  "messages[0].content: expected at least one part" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[\"hi\"]}]}",
	  "messages[0].content[0]: expected an object" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{}]}]}",
	  "messages[0].content[1].type: required" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":7}]}]}",
	  "messages[0].content[0].type: expected a string" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
	  "messages[0].content[0].text: required" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":null}]}]}",
	  "messages[0].content[0].text: expected a string" },
	{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":[\"a\"]}]}]}",
	  "messages[0].content[0].text: expected a string" },
	{ "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"y\"}]}",
	  "messages: at least one message with role user is required" },
	{ "{\"messages\":[" CRQ_U "],\"stream\":1}", "stream: expected a boolean" },
	{ "{\"messages\":[" CRQ_U "],\"stream\":\"true\"}", "stream: expected a boolean" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":0}",
	  "max_tokens: must be between 1 and 1000000000" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":-1}",
	  "max_tokens: must be between 1 and 1000000000" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":1000000001}",
	  "max_tokens: must be between 1 and 1000000000" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":9223372036854775807}",
	  "max_tokens: must be between 1 and 1000000000" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":-9223372036854775808}",
	  "max_tokens: must be between 1 and 1000000000" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":1.5}", "max_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":10.0}", "max_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":1e9}", "max_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":\"10\"}", "max_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":true}", "max_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":5,\"max_completion_tokens\":0}",
	  "max_completion_tokens: must be between 1 and 1000000000" },
	{ "{\"messages\":[" CRQ_U "],\"max_tokens\":\"x\",\"max_completion_tokens\":5}",
	  "max_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"max_completion_tokens\":[1]}",
	  "max_completion_tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":5}", "mock: expected an object" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":[]}", "mock: expected an object" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"tokens\":-1}}",
	  "mock.tokens: must be between 0 and 10000000" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"tokens\":10000001}}",
	  "mock.tokens: must be between 0 and 10000000" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"tokens\":\"3\"}}", "mock.tokens: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"ttft_us\":60000001}}",
	  "mock.ttft_us: must be between 0 and 60000000" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"ttft_us\":0.5}}", "mock.ttft_us: expected an integer" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"interval_us\":-5}}",
	  "mock.interval_us: must be between 0 and 60000000" },
	{ "{\"messages\":[" CRQ_U "],\"mock\":{\"interval_us\":{}}}",
	  "mock.interval_us: expected an integer" },
};

Test(chatreq, every_rule_has_its_message)
{
	size_t i;

	for (i = 0; i < sizeof(crq_invalid) / sizeof(crq_invalid[0]); i++)
		crq_assert_fails_str(crq_invalid[i].body, crq_invalid[i].msg);
}

Test(chatreq, syntax_errors_name_the_position)
{
	crq_assert_fails_str("{\"messages\":[}",
			     "body: invalid JSON at line 1 column 14: unexpected token near '}'");
	crq_assert_fails_str("{\"messages\":[]} x",
			     "body: invalid JSON at line 1 column 17: end of file expected near 'x'");
}

/* ---- hostile input ------------------------------------------------------- */

Test(chatreq, empty_and_not_json)
{
	static const char *const bodies[] = {
		"", " ", "\n\t ", "hello", "{", "}", "{\"messages\"", "{'messages':[]}",
		"{messages:[]}", "\"just a string\"", "42", "-0", "null", "true", "false",
		"{\"messages\":[" CRQ_U "],}", "{\"messages\":[" CRQ_U ",]}",
		"{\"messages\":[" CRQ_U "]}{}", "{\"messages\":[" CRQ_U "]} []",
		"/* c */{\"messages\":[" CRQ_U "]}", "\xef\xbb\xbf{\"messages\":[" CRQ_U "]}",
		"{\"messages\":[" CRQ_U "],\"x\":NaN}", "{\"messages\":[" CRQ_U "],\"x\":Infinity}",
		"{\"messages\":[" CRQ_U "],\"x\":01}", "{\"messages\":[" CRQ_U "],\"x\":\"\\x41\"}",
	};
	size_t i;

	crq_assert_fails("", 0, NULL);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		crq_assert_fails_str(bodies[i], NULL);
}

Test(chatreq, every_prefix_of_a_valid_body)
{
	size_t len = strlen(crq_rich), i;

	crq_assert_ok(crq_rich, len);
	/* A copy of exactly i bytes, so ASan catches any read past the end. */
	for (i = 0; i < len; i++) {
		char *p = malloc(i ? i : 1);

		cr_assert_not_null(p);
		memcpy(p, crq_rich, i);
		crq_assert_fails(p, i, NULL);
		free(p);
	}
}

Test(chatreq, invalid_utf8)
{
	static const char *const bodies[] = {
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
		"{\"messages\":[{\"role\":\"user\",\"content\":\"a\xc0\xafz\"}]}",     /* overlong */
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\xe2\x82\"}]}",       /* truncated */
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}",   /* surrogate */
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\xf4\x90\x80\x80\"}]}", /* > U+10FFFF */
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",        /* lone escape */
		"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"\xfe\":1}",   /* in a key */
		"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\x80",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		crq_assert_fails_str(bodies[i], NULL);
	/* Valid multi-byte text, including an escaped surrogate pair, is fine. */
	crq_assert_ok_str("{\"messages\":[{\"role\":\"user\",\"content\":"
			  "\"\xe6\x97\xa5\xf0\x9f\x98\x80 \\ud83d\\ude00\"}]}");
}

Test(chatreq, embedded_nul)
{
	static const char in_string[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\0b\"}]}";
	static const char after[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}]}\0";
	static const char between[] = "{\"messages\":\0[{\"role\":\"user\",\"content\":\"ab\"}]}";

	/* Lengths include the NUL bytes: the body is bytes, not a C string. */
	crq_assert_fails(in_string, sizeof(in_string) - 1, NULL);
	crq_assert_fails(after, sizeof(after) - 1, NULL);
	crq_assert_fails(between, sizeof(between) - 1, NULL);
	crq_assert_fails_str("{\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}",
			     "body: invalid JSON at line 1 column 48: \\u0000 is not allowed in strings");
	crq_assert_fails_str("{\"messages\":[{\"role\":\"user\\u0000x\",\"content\":\"ab\"}]}", NULL);
	crq_assert_fails_str("{\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}],\"\\u0000\":1}", NULL);
}

/* depth opening brackets of the given kind inside an otherwise valid body */
static char *crq_deep(size_t depth, int objects, size_t *len)
{
	const char *head = "{\"messages\":[" CRQ_U "],\"x\":";
	size_t hl = strlen(head), i, n = 0;
	char *b = malloc(hl + depth * 6 + 2);

	cr_assert_not_null(b);
	memcpy(b, head, hl);
	n = hl;
	for (i = 0; i < depth; i++) {
		if (objects) {
			memcpy(b + n, "{\"a\":", 5);
			n += 5;
		} else {
			b[n++] = '[';
		}
	}
	b[n++] = '1';
	for (i = 0; i < depth; i++)
		b[n++] = objects ? '}' : ']';
	b[n++] = '}';
	*len = n;
	return b;
}

Test(chatreq, deep_nesting)
{
	size_t len;
	char *b;

	b = crq_deep(10000, 0, &len);
	crq_assert_fails(b, len, NULL);
	free(b);
	b = crq_deep(10000, 1, &len);
	crq_assert_fails(b, len, NULL);
	free(b);
	/* Ordinary nesting in a passed-through key is fine. */
	b = crq_deep(100, 1, &len);
	crq_assert_ok(b, len);
	free(b);
	/* Deep nesting where messages are expected: the parser refuses it. */
	b = malloc(20000 + 32);
	cr_assert_not_null(b);
	memcpy(b, "{\"messages\":", 12);
	memset(b + 12, '[', 10000);
	memset(b + 12 + 10000, ']', 10000);
	b[12 + 20000] = '}';
	crq_assert_fails(b, 12 + 20000 + 1, NULL);
	free(b);
}

Test(chatreq, duplicate_keys)
{
	crq_assert_fails_str("{\"messages\":[" CRQ_U "],\"messages\":[" CRQ_U "]}", NULL);
	crq_assert_fails_str("{\"messages\":[{\"role\":\"user\",\"role\":\"system\",\"content\":\"x\"}]}", NULL);
	crq_assert_fails_str("{\"messages\":[" CRQ_U "],\"stream\":true,\"stream\":false}", NULL);
	crq_assert_fails_str("{\"messages\":[" CRQ_U "],\"mock\":{\"tokens\":1,\"tokens\":2}}", NULL);
	/* The same key in different objects is not a duplicate. */
	crq_assert_ok_str("{\"messages\":[" CRQ_U "," CRQ_U "]}");
}

Test(chatreq, huge_numbers)
{
	static const char *const bodies[] = {
		"{\"messages\":[" CRQ_U "],\"max_tokens\":99999999999999999999999999999}",
		"{\"messages\":[" CRQ_U "],\"max_tokens\":-99999999999999999999999999999}",
		"{\"messages\":[" CRQ_U "],\"max_tokens\":1e400}",
		"{\"messages\":[" CRQ_U "],\"mock\":{\"tokens\":9223372036854775808}}",
		"{\"messages\":[" CRQ_U "],\"unknown\":1e99999}",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		crq_assert_fails_str(bodies[i], NULL);
	/* A tiny real underflows to 0 harmlessly in a pass-through key. */
	crq_assert_ok_str("{\"messages\":[" CRQ_U "],\"x\":1e-400}");
}

/* pre, then 1 MB of fill, then post. */
static char *crq_big(const char *pre, const char *post, char fill, size_t *len)
{
	size_t big = 1 << 20, pl = strlen(pre), ql = strlen(post);
	char *b = malloc(pl + big + ql);

	cr_assert_not_null(b);
	memcpy(b, pre, pl);
	memset(b + pl, fill, big);
	memcpy(b + pl + big, post, ql);
	*len = pl + big + ql;
	return b;
}

static void crq_assert_no_echo(const char *err, char fill)
{
	size_t run = 0, i;

	for (i = 0; err[i]; i++) {
		run = err[i] == fill ? run + 1 : 0;
		cr_assert(run <= CRQ_MAX_ECHO, "error echoes client data: %s", err);
	}
}

Test(chatreq, megabyte_strings)
{
	static const char pre[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"";
	struct chatreq r;
	char err[CRQ_ERRLEN];
	size_t len, i;
	char *b;

	/* A 1 MB prompt is valid and is one word. */
	b = crq_big(pre, "\"}]}", 'a', &len);
	cr_assert_eq(chatreq_parse(&r, b, len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.last_user_len, 1 << 20);
	cr_assert_eq(r.prompt_words, 1);
	chatreq_free(&r);
	free(b);

	/* A 1 MB role, key, or type is rejected without being quoted. */
	b = crq_big("{\"messages\":[{\"role\":\"", "\",\"content\":\"x\"}]}", 'q', &len);
	cr_assert_eq(chatreq_parse(&r, b, len, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "messages[0].role: expected one of system, developer, user, assistant, tool");
	free(b);

	b = crq_big("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"", "\"}]}]}", 'q', &len);
	cr_assert_eq(chatreq_parse(&r, b, len, err, sizeof(err)), 0, "unknown part types pass: %s", err);
	chatreq_free(&r);
	free(b);

	/* A 1 MB unknown key is passed through. */
	b = crq_big("{\"messages\":[" CRQ_U "],\"", "\":1}", 'k', &len);
	crq_assert_ok(b, len);
	free(b);

	/* A 1 MB token that is not JSON: the syntax error quotes only a little. */
	b = crq_big("{\"messages\":[" CRQ_U "],\"x\":", "}", 'z', &len);
	cr_assert_eq(chatreq_parse(&r, b, len, err, sizeof(err)), -EINVAL);
	crq_assert_clean_err(err);
	crq_assert_no_echo(err, 'z');
	free(b);

	/* A 1 MB number is a syntax error too. */
	b = crq_big("{\"messages\":[" CRQ_U "],\"max_tokens\":", "}", '9', &len);
	cr_assert_eq(chatreq_parse(&r, b, len, err, sizeof(err)), -EINVAL);
	crq_assert_clean_err(err);
	crq_assert_no_echo(err, '9');
	free(b);

	/* Half a megabyte of one-letter words. */
	b = crq_big(pre, "\"}]}", ' ', &len);
	for (i = 0; i < 1 << 20; i += 2)
		b[strlen(pre) + i] = 'w';
	cr_assert_eq(chatreq_parse(&r, b, len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.prompt_words, 1 << 19);
	chatreq_free(&r);
	free(b);
}

Test(chatreq, control_bytes_in_syntax_errors_are_not_echoed)
{
	struct chatreq r;
	char err[CRQ_ERRLEN];
	static const char body[] = "{\"messages\":[" CRQ_U "],\"x\":\x1b[31m\x07\xff}";

	cr_assert_eq(chatreq_parse(&r, body, sizeof(body) - 1, err, sizeof(err)), -EINVAL);
	crq_assert_clean_err(err);
}

/* Deterministic noise and mutations: whatever the bytes, parse returns
 * 0 or -EINVAL and frees everything (ASan/LSan check the rest). */
Test(chatreq, random_bytes_and_mutations)
{
	static const char alphabet[] = "{}[]\":,\\ntrufalse0123456789.eE+- \t\xc3\xa9\xff\x00u"
				       "messagesrolecontentuserassistant";
	size_t len = strlen(crq_rich), i, j;
	uint32_t seed = 12345;
	struct chatreq r;
	char err[CRQ_ERRLEN];
	char *b = malloc(len);
	int rc, ok = 0;

	cr_assert_not_null(b);
	for (i = 0; i < 4000; i++) {
		memcpy(b, crq_rich, len);
		for (j = 0; j < 1 + i % 4; j++) {
			seed = seed * 1103515245u + 12345u;
			b[(seed >> 8) % len] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
		}
		rc = chatreq_parse(&r, b, len, err, sizeof(err));
		cr_assert(rc == 0 || rc == -EINVAL, "rc %d", rc);
		if (rc == 0)
			ok++;
		else
			crq_assert_clean_err(err);
		chatreq_free(&r);
	}
	/* Some mutations land in strings and keep the body valid. */
	cr_assert(ok > 0);
	for (i = 0; i < 4000; i++) {
		size_t n = i % len;

		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			b[j] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		rc = chatreq_parse(&r, b, n, err, sizeof(err));
		cr_assert(rc == 0 || rc == -EINVAL, "rc %d", rc);
		chatreq_free(&r);
	}
	free(b);
}
