/* Recursive-descent JSON reader for the host tests. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p;
    int failed;
} parser;

static json *parse_value(parser *ps);

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t') {
        ++ps->p;
    }
}

static json *fail(parser *ps, const char *what)
{
    if (!ps->failed) {
        fprintf(stderr, "json: %s near \"%.20s\"\n", what, ps->p);
    }
    ps->failed = 1;
    return NULL;
}

static json *node(json_type type)
{
    json *j = calloc(1, sizeof *j);
    if (j == NULL) {
        abort();
    }
    j->type = type;
    return j;
}

static char *parse_string_raw(parser *ps)
{
    size_t cap = 16;
    size_t n = 0;
    char *out;
    if (*ps->p != '"') {
        fail(ps, "expected a string");
        return NULL;
    }
    ++ps->p;
    out = malloc(cap);
    if (out == NULL) {
        abort();
    }
    while (*ps->p != '"') {
        char c = *ps->p++;
        if (c == '\0') {
            free(out);
            fail(ps, "unterminated string");
            return NULL;
        }
        if (c == '\\') {
            char e = *ps->p++;
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned v = 0;
                int k;
                for (k = 0; k < 4; ++k) {
                    char h = *ps->p++;
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else { free(out); fail(ps, "bad \\u escape"); return NULL; }
                }
                if (v > 0x7F) { free(out); fail(ps, "non-ASCII \\u escape unsupported"); return NULL; }
                c = (char)v;
                break;
            }
            default:
                free(out);
                fail(ps, "bad escape");
                return NULL;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (out == NULL) {
                abort();
            }
        }
        out[n++] = c;
    }
    ++ps->p;
    out[n] = '\0';
    return out;
}

static json *parse_number(parser *ps)
{
    const char *start = ps->p;
    json *j;
    size_t n;
    if (*ps->p == '-') ++ps->p;
    while ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' || *ps->p == 'e' ||
           *ps->p == 'E' || *ps->p == '+' || *ps->p == '-') {
        ++ps->p;
    }
    n = (size_t)(ps->p - start);
    if (n == 0) {
        return fail(ps, "expected a value");
    }
    j = node(JSON_NUMBER);
    j->text = malloc(n + 1);
    if (j->text == NULL) abort();
    memcpy(j->text, start, n);
    j->text[n] = '\0';
    return j;
}

static json *parse_container(parser *ps, int is_object)
{
    json *j = node(is_object ? JSON_OBJECT : JSON_ARRAY);
    json **tail = &j->child;
    char close = is_object ? '}' : ']';
    ++ps->p;
    skip_ws(ps);
    if (*ps->p == close) {
        ++ps->p;
        return j;
    }
    for (;;) {
        char *key = NULL;
        json *v;
        skip_ws(ps);
        if (is_object) {
            key = parse_string_raw(ps);
            if (key == NULL) { json_free(j); return NULL; }
            skip_ws(ps);
            if (*ps->p != ':') { free(key); json_free(j); return fail(ps, "expected ':'"); }
            ++ps->p;
        }
        v = parse_value(ps);
        if (v == NULL) { free(key); json_free(j); return NULL; }
        v->key = key;
        *tail = v;
        tail = &v->next;
        skip_ws(ps);
        if (*ps->p == ',') { ++ps->p; continue; }
        if (*ps->p == close) { ++ps->p; return j; }
        json_free(j);
        return fail(ps, "expected ',' or a closing bracket");
    }
}

static json *parse_value(parser *ps)
{
    skip_ws(ps);
    switch (*ps->p) {
    case '{': return parse_container(ps, 1);
    case '[': return parse_container(ps, 0);
    case '"': {
        char *s = parse_string_raw(ps);
        json *j;
        if (s == NULL) return NULL;
        j = node(JSON_STRING);
        j->text = s;
        return j;
    }
    case 't':
        if (strncmp(ps->p, "true", 4) == 0) { json *j = node(JSON_BOOL); j->boolean = 1; ps->p += 4; return j; }
        return fail(ps, "bad literal");
    case 'f':
        if (strncmp(ps->p, "false", 5) == 0) { json *j = node(JSON_BOOL); ps->p += 5; return j; }
        return fail(ps, "bad literal");
    case 'n':
        if (strncmp(ps->p, "null", 4) == 0) { ps->p += 4; return node(JSON_NULL); }
        return fail(ps, "bad literal");
    default:
        return parse_number(ps);
    }
}

json *json_parse(const char *text)
{
    parser ps;
    json *j;
    ps.p = text;
    ps.failed = 0;
    j = parse_value(&ps);
    if (j == NULL) return NULL;
    skip_ws(&ps);
    if (*ps.p != '\0') {
        json_free(j);
        return fail(&ps, "trailing characters");
    }
    return j;
}

json *json_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;
    char *text;
    json *j;
    if (f == NULL) {
        fprintf(stderr, "json: cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)size + 1);
    if (text == NULL) abort();
    if (fread(text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(text);
        fprintf(stderr, "json: cannot read %s\n", path);
        return NULL;
    }
    fclose(f);
    text[size] = '\0';
    j = json_parse(text);
    free(text);
    return j;
}

void json_free(json *j)
{
    while (j != NULL) {
        json *next = j->next;
        json_free(j->child);
        free(j->key);
        free(j->text);
        free(j);
        j = next;
    }
}

json *json_get(const json *object, const char *key)
{
    json *c;
    if (object == NULL || object->type != JSON_OBJECT) return NULL;
    for (c = object->child; c != NULL; c = c->next) {
        if (strcmp(c->key, key) == 0) return c;
    }
    return NULL;
}

json *json_at(const json *array, size_t i)
{
    json *c;
    if (array == NULL || (array->type != JSON_ARRAY && array->type != JSON_OBJECT)) return NULL;
    for (c = array->child; c != NULL && i > 0; c = c->next) --i;
    return c;
}

size_t json_len(const json *array)
{
    size_t n = 0;
    json *c;
    if (array == NULL) return 0;
    for (c = array->child; c != NULL; c = c->next) ++n;
    return n;
}

double json_number(const json *j)
{
    if (j == NULL) return 0.0;
    if (j->type == JSON_BOOL) return j->boolean;
    return (j->type == JSON_NUMBER) ? strtod(j->text, NULL) : 0.0;
}

int64_t json_int(const json *j)
{
    if (j == NULL) return 0;
    if (j->type == JSON_BOOL) return j->boolean;
    return (j->type == JSON_NUMBER) ? (int64_t)strtoll(j->text, NULL, 10) : 0;
}

uint64_t json_uint(const json *j)
{
    if (j == NULL) return 0;
    if (j->type == JSON_BOOL) return (uint64_t)j->boolean;
    return (j->type == JSON_NUMBER) ? (uint64_t)strtoull(j->text, NULL, 10) : 0;
}

const char *json_str(const json *j)
{
    return (j != NULL && j->type == JSON_STRING) ? j->text : "";
}
