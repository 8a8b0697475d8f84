/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small JSON value tree for wgnetctl's --json output: build, then print pretty or short.
 * Constructors return NULL on allocation failure; the add functions take ownership of
 * the value in every case and return -ENOMEM when it is NULL, so calls can be chained
 * without leaking. Strings must be valid UTF-8 (all D-Bus strings are). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct Json Json;

typedef enum JsonFormat {
        JSON_FORMAT_SHORT,      /* one line */
        JSON_FORMAT_PRETTY,     /* indented by two spaces */
} JsonFormat;

Json *json_new_null(void);
Json *json_new_bool(bool b);
Json *json_new_unsigned(uint64_t u);
Json *json_new_string(const char *s);   /* NULL gives null */
Json *json_new_strv(char *const *l);    /* NULL gives [] */
Json *json_new_array(void);
Json *json_new_object(void);

int json_array_add(Json *array, Json *v);
int json_object_add(Json *object, const char *key, Json *v);

Json *json_free(Json *v);
static inline void json_freep(Json **v) {
        if (*v)
                *v = json_free(*v);
}

/* Append s as a JSON string literal (with quotes) to f. */
void json_escape(FILE *f, const char *s);
/* The value as text; pretty output ends in '\n', short does not. ret is malloc'd. */
int json_format(const Json *v, JsonFormat format, char **ret);
int json_print(FILE *f, const Json *v, JsonFormat format);
