/* SPDX-License-Identifier: MIT */
/* Rendering values and bytes for the tools (docs/TOOLS.md "Values"). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

char *tool_hex(const void *p, size_t n)
{
	static const char dig[] = "0123456789abcdef";
	const uint8_t *b = p;
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = dig[b[i] >> 4];
		s[2 * i + 1] = dig[b[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

json_t *tool_json_hex(const void *p, size_t n)
{
	char *s = tool_hex(p, n);
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

static json_t *tool_json_0x(const void *p, size_t n)
{
	char *h = tool_hex(p, n);
	char *s = h ? malloc(strlen(h) + 3) : NULL;
	json_t *j = NULL;

	if (s) {
		strcpy(s, "0x");
		strcat(s, h);
		j = json_string(s);
	}
	free(h);
	free(s);
	return j;
}

/* u64 above INT64_MAX and non-finite floats have no exact JSON number:
 * they are written as strings (the column's type says how to read them). */
json_t *tool_value_json(const struct aedb_value *v)
{
	char buf[32];

	switch (v->type) {
	case AEDB_TYPE_NULL:
		return json_null();
	case AEDB_TYPE_TEXT:
	case AEDB_TYPE_JSON:
		return json_stringn(v->len ? v->u.bytes : "", v->len);
	case AEDB_TYPE_U8:
		return json_integer(v->u.u8);
	case AEDB_TYPE_U64:
		if (v->u.u64 <= INT64_MAX)
			return json_integer((json_int_t)v->u.u64);
		snprintf(buf, sizeof(buf), "%" PRIu64, v->u.u64);
		return json_string(buf);
	case AEDB_TYPE_INTEGER:
	case AEDB_TYPE_TIMESTAMP:
		return json_integer(v->u.i64);
	case AEDB_TYPE_FLOAT:
		if (isfinite(v->u.f64))
			return json_real(v->u.f64);
		return json_string(isnan(v->u.f64) ? "NaN" : v->u.f64 > 0 ? "inf" : "-inf");
	case AEDB_TYPE_BOOLEAN:
		return json_boolean(v->u.b);
	case AEDB_TYPE_U256:
	case AEDB_TYPE_I256:
		return tool_json_0x(v->u.w, 32);
	case AEDB_TYPE_BLOB:
		return tool_json_0x(v->len ? v->u.bytes : "", v->len);
	default:
		return NULL;
	}
}

void tool_bytes_text(FILE *f, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\\')
			fputs("\\\\", f);
		else if (b[i] >= 0x20 && b[i] < 0x7f)
			fputc(b[i], f);
		else
			fprintf(f, "\\x%02x", b[i]);
	}
}

static void tool_text_escaped(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\t')
			fputs("\\t", f);
		else if (s[i] == '\n')
			fputs("\\n", f);
		else if (s[i] == '\r')
			fputs("\\r", f);
		else if (s[i] == '\\')
			fputs("\\\\", f);
		else
			fputc(s[i], f);
	}
}

static void tool_print_0x(FILE *f, const void *p, size_t n)
{
	const uint8_t *b = p;

	fputs("0x", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

void tool_value_text(FILE *f, const struct aedb_value *v)
{
	switch (v->type) {
	case AEDB_TYPE_TEXT:
	case AEDB_TYPE_JSON:
		tool_text_escaped(f, v->len ? v->u.bytes : "", v->len);
		break;
	case AEDB_TYPE_U8:
		fprintf(f, "%u", v->u.u8);
		break;
	case AEDB_TYPE_U64:
		fprintf(f, "%" PRIu64, v->u.u64);
		break;
	case AEDB_TYPE_INTEGER:
	case AEDB_TYPE_TIMESTAMP:
		fprintf(f, "%" PRId64, v->u.i64);
		break;
	case AEDB_TYPE_FLOAT:
		fprintf(f, "%.17g", v->u.f64);
		break;
	case AEDB_TYPE_BOOLEAN:
		fputs(v->u.b ? "true" : "false", f);
		break;
	case AEDB_TYPE_U256:
	case AEDB_TYPE_I256:
		tool_print_0x(f, v->u.w, 32);
		break;
	case AEDB_TYPE_BLOB:
		tool_print_0x(f, v->u.bytes, v->len);
		break;
	default:
		fputs("null", f);
	}
}

const char *tool_type_name(uint32_t type)
{
	static const char *const names[] = {
		"null", "text", "u8", "u64", "integer", "float", "boolean",
		"u256", "i256", "blob", "timestamp", "json",
	};

	return type <= AEDB_TYPE_LAST ? names[type] : "unknown";
}
