/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

typedef enum JsonType {
        JSON_NULL,
        JSON_BOOL,
        JSON_UNSIGNED,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
} JsonType;

struct Json {
        JsonType type;
        bool b;
        uint64_t u;
        char *s;
        /* array items or object members (keys in parallel) */
        Json **items;
        char **keys;
        size_t n, allocated;
};

static Json *json_new(JsonType type) {
        Json *v = calloc(1, sizeof(Json));
        if (v)
                v->type = type;
        return v;
}

Json *json_new_null(void) {
        return json_new(JSON_NULL);
}

Json *json_new_bool(bool b) {
        Json *v = json_new(JSON_BOOL);
        if (v)
                v->b = b;
        return v;
}

Json *json_new_unsigned(uint64_t u) {
        Json *v = json_new(JSON_UNSIGNED);
        if (v)
                v->u = u;
        return v;
}

Json *json_new_string(const char *s) {
        if (!s)
                return json_new_null();
        Json *v = json_new(JSON_STRING);
        if (!v)
                return NULL;
        v->s = strdup(s);
        if (!v->s) {
                free(v);
                return NULL;
        }
        return v;
}

Json *json_new_array(void) {
        return json_new(JSON_ARRAY);
}

Json *json_new_object(void) {
        return json_new(JSON_OBJECT);
}

Json *json_new_strv(char *const *l) {
        Json *a = json_new_array();
        if (!a)
                return NULL;
        for (size_t i = 0; l && l[i]; i++)
                if (json_array_add(a, json_new_string(l[i])) < 0)
                        return json_free(a);
        return a;
}

static int json_append(Json *c, const char *key, Json *v) {
        if (!v)
                return -ENOMEM;
        if (c->n == c->allocated) {
                size_t na = c->allocated ? c->allocated * 2 : 8;
                Json **items = realloc(c->items, na * sizeof(Json *));
                if (!items) {
                        json_free(v);
                        return -ENOMEM;
                }
                c->items = items;
                if (c->type == JSON_OBJECT) {
                        char **keys = realloc(c->keys, na * sizeof(char *));
                        if (!keys) {
                                json_free(v);
                                return -ENOMEM;
                        }
                        c->keys = keys;
                }
                c->allocated = na;
        }
        if (c->type == JSON_OBJECT) {
                c->keys[c->n] = strdup(key);
                if (!c->keys[c->n]) {
                        json_free(v);
                        return -ENOMEM;
                }
        }
        c->items[c->n++] = v;
        return 0;
}

int json_array_add(Json *array, Json *v) {
        if (!array || array->type != JSON_ARRAY) {
                json_free(v);
                return -EINVAL;
        }
        return json_append(array, NULL, v);
}

int json_object_add(Json *object, const char *key, Json *v) {
        if (!object || object->type != JSON_OBJECT || !key) {
                json_free(v);
                return -EINVAL;
        }
        return json_append(object, key, v);
}

Json *json_free(Json *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n; i++) {
                json_free(v->items[i]);
                if (v->keys)
                        free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        free(v->s);
        free(v);
        return NULL;
}

void json_escape(FILE *f, const char *s) {
        size_t n = strlen(s);

        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s, *end = p + n; *p; p++)
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\b':
                        fputs("\\b", f);
                        break;
                case '\f':
                        fputs("\\f", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else if (*p < 0x80)
                                fputc(*p, f);
                        else {
                                /* JSON is UTF-8: a byte that does not start a valid
                                 * character (a file name given raw) becomes U+FFFD */
                                size_t len = utf8_char_len((const char *) p, (size_t) (end - p), NULL);
                                if (len == 0)
                                        fputs("\\ufffd", f);
                                else {
                                        fwrite(p, 1, len, f);
                                        p += len - 1;
                                }
                        }
                }
        fputc('"', f);
}

static void indent(FILE *f, JsonFormat format, unsigned level) {
        if (format != JSON_FORMAT_PRETTY)
                return;
        fputc('\n', f);
        for (unsigned i = 0; i < level; i++)
                fputs("  ", f);
}

static void json_write(FILE *f, const Json *v, JsonFormat format, unsigned level) {
        switch (v->type) {
        case JSON_NULL:
                fputs("null", f);
                break;
        case JSON_BOOL:
                fputs(v->b ? "true" : "false", f);
                break;
        case JSON_UNSIGNED:
                fprintf(f, "%" PRIu64, v->u);
                break;
        case JSON_STRING:
                json_escape(f, v->s);
                break;
        case JSON_ARRAY:
        case JSON_OBJECT: {
                bool obj = v->type == JSON_OBJECT;
                fputc(obj ? '{' : '[', f);
                for (size_t i = 0; i < v->n; i++) {
                        if (i > 0)
                                fputc(',', f);
                        indent(f, format, level + 1);
                        if (obj) {
                                json_escape(f, v->keys[i]);
                                fputs(format == JSON_FORMAT_PRETTY ? ": " : ":", f);
                        }
                        json_write(f, v->items[i], format, level + 1);
                }
                if (v->n > 0)
                        indent(f, format, level);
                fputc(obj ? '}' : ']', f);
                break;
        }
        }
}

int json_format(const Json *v, JsonFormat format, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        json_write(f, v, format, 0);
        if (format == JSON_FORMAT_PRETTY)
                fputc('\n', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int json_print(FILE *f, const Json *v, JsonFormat format) {
        json_write(f, v, format, 0);
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}
