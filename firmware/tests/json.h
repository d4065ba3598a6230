/*
 * A small JSON reader for the host tests (RFC 8259 subset: everything the golden vectors
 * file uses). Numbers keep their text so that 64-bit integers are read exactly.
 */
#ifndef SW_TEST_JSON_H
#define SW_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json {
    json_type type;
    char *key;          /* member name inside an object, else NULL */
    char *text;         /* string value (decoded), or the number's text */
    int boolean;
    struct json *child; /* first element / member */
    struct json *next;  /* next sibling */
} json;

/* Parse a document; NULL (with a message on stderr) on a syntax error. */
json *json_parse(const char *text);
/* Read and parse a file; NULL on failure. */
json *json_load(const char *path);
void json_free(json *j);

json *json_get(const json *object, const char *key); /* NULL if absent */
json *json_at(const json *array, size_t i);          /* NULL if out of range */
size_t json_len(const json *array);
double json_number(const json *j);
int64_t json_int(const json *j);   /* exact for integers within int64 */
uint64_t json_uint(const json *j); /* exact for non-negative integers within uint64 */
const char *json_str(const json *j); /* "" when not a string */

#endif
