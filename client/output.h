/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Output of wgnetctl: tables through libsmartcols, "Label: value" blocks, and --json.
 * A table row carries both its cells (human text) and a JSON object (typed values); the
 * output mode decides which is printed. */

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

typedef struct OutputOptions {
        bool json;
        JsonFormat json_format;
        bool legend;            /* table headers and footers */
        bool show_keys;         /* key columns in tables */
        bool colors;            /* stdout is a terminal and colours are not turned off */
        bool utf8;              /* the locale's charset is UTF-8 */
} OutputOptions;

extern OutputOptions output;

/* Set the locale; decide colours from the terminal and $NO_COLOR / $TERM. */
void output_init(void);

#define ANSI_GREEN "\x1b[0;32m"
#define ANSI_RED "\x1b[0;31m"
#define ANSI_GREY "\x1b[0;90m"
#define ANSI_YELLOW "\x1b[0;33m"
#define ANSI_BOLD "\x1b[1m"
#define ANSI_NORMAL "\x1b[0m"

/* The colour sequence when colours are on, else "". */
const char *ansi(const char *seq);

/* online_dot() for this terminal. */
const char *dot(bool online);

enum {
        COLUMN_RIGHT = 1 << 0,          /* numbers */
        COLUMN_KEY = 1 << 1,            /* shown only with --show-keys */
        COLUMN_WRAP = 1 << 2,           /* long lists: wrap rather than truncate */
        COLUMN_TRUNC = 1 << 3,          /* may be truncated on narrow terminals */
        COLUMN_HIDDEN = 1 << 4,         /* never shown in the table (JSON only) */
};

typedef struct Column {
        const char *header;
        unsigned flags;
} Column;

typedef struct Table Table;

Table *table_new(const Column *columns, size_t n_columns);
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        if (*t)
                *t = table_free(*t);
}
/* cells: n_columns strings, NULL or "" shown as "-"; colors: NULL or n_columns colour
 * sequences (NULL = none). json: the row for --json, owned by the table afterwards. */
int table_add_row(Table *t, const char *const *cells, const char *const *colors, Json *json);
size_t table_rows(const Table *t);
/* Print the table (or, with --json, the array of row objects). */
int table_print(Table *t);
/* Take the JSON array of the rows out of the table (for embedding). */
Json *table_steal_json(Table *t);
/* Print only the table part (no JSON), indented by `indent` spaces. */
int table_print_human(Table *t, unsigned indent);

/* A "Label: value" block, labels right-aligned like networkctl status. */
typedef struct Fields Fields;
Fields *fields_new(void);
Fields *fields_free(Fields *f);
static inline void fields_freep(Fields **f) {
        if (*f)
                *f = fields_free(*f);
}
/* value NULL or "" shown as "-". color as for table cells. */
int fields_add(Fields *f, const char *label, const char *value, const char *color);
/* Values through escape_nonprintable() (newlines kept, continuation lines indented). */
int fields_print(const Fields *f);

/* Join a string list with sep; NULL/empty list gives "" (malloc'd). */
char *strv_join(char *const *l, const char *sep);
