/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <langinfo.h>
#include <libsmartcols.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "output.h"
#include "utf8.h"

OutputOptions output = { .legend = true, .json_format = JSON_FORMAT_PRETTY };

void output_init(void) {
        const char *term = getenv("TERM");
        (void) setlocale(LC_ALL, "");
        output.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
        output.colors = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0);
}

const char *dot(bool online) {
        return online_dot(online, output.utf8);
}

const char *ansi(const char *seq) {
        return output.colors && seq ? seq : "";
}

struct Table {
        struct libscols_table *scols;
        const Column *columns;
        size_t n_columns;
        Json *rows;
        size_t n_rows;
};

Table *table_new(const Column *columns, size_t n_columns) {
        Table *t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->columns = columns;
        t->n_columns = n_columns;
        t->rows = json_new_array();
        t->scols = scols_new_table();
        if (!t->rows || !t->scols)
                return table_free(t);
        scols_table_enable_colors(t->scols, output.colors);
        scols_table_enable_noheadings(t->scols, !output.legend);
        scols_table_set_column_separator(t->scols, "  ");
        for (size_t i = 0; i < n_columns; i++) {
                int flags = 0;
                if (columns[i].flags & COLUMN_RIGHT)
                        flags |= SCOLS_FL_RIGHT;
                if (columns[i].flags & COLUMN_WRAP)
                        flags |= SCOLS_FL_WRAP;
                if (columns[i].flags & COLUMN_TRUNC)
                        flags |= SCOLS_FL_TRUNC;
                struct libscols_column *c = scols_table_new_column(t->scols, columns[i].header, 0, flags);
                if (!c)
                        return table_free(t);
                if (((columns[i].flags & COLUMN_KEY) && !output.show_keys) || (columns[i].flags & COLUMN_HIDDEN))
                        scols_column_set_flags(c, flags | SCOLS_FL_HIDDEN);
        }
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        scols_unref_table(t->scols);
        json_free(t->rows);
        free(t);
        return NULL;
}

int table_add_row(Table *t, const char *const *cells, const char *const *colors, Json *json) {
        struct libscols_line *line;
        int r;

        r = json_array_add(t->rows, json);
        if (r < 0)
                return r;
        line = scols_table_new_line(t->scols, NULL);
        if (!line)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *s = cells[i] && *cells[i] ? cells[i] : "-";
                r = scols_line_set_data(line, i, s);
                if (r < 0)
                        return r;
                if (colors && colors[i] && output.colors) {
                        r = scols_cell_set_color(scols_line_get_cell(line, i), colors[i]);
                        if (r < 0)
                                return r;
                }
        }
        t->n_rows++;
        return 0;
}

size_t table_rows(const Table *t) {
        return t->n_rows;
}

Json *table_steal_json(Table *t) {
        Json *j = t->rows;
        t->rows = json_new_array();
        return j;
}

int table_print_human(Table *t, unsigned indent) {
        if (t->n_rows == 0)
                return 0;
        if (indent == 0)
                return scols_print_table(t->scols);

        char *s = NULL, *save = NULL;
        int r = scols_print_table_to_string(t->scols, &s);
        if (r < 0)
                return r;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                printf("%*s%s\n", (int) indent, "", line);
        free(s);
        return 0;
}

int table_print(Table *t) {
        if (output.json)
                return json_print(stdout, t->rows, output.json_format);
        return table_print_human(t, 0);
}

typedef struct Field {
        char *label, *value;
        const char *color;
} Field;

struct Fields {
        Field *items;
        size_t n;
};

Fields *fields_new(void) {
        return calloc(1, sizeof(Fields));
}

Fields *fields_free(Fields *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n; i++) {
                free(f->items[i].label);
                free(f->items[i].value);
        }
        free(f->items);
        free(f);
        return NULL;
}

int fields_add(Fields *f, const char *label, const char *value, const char *color) {
        Field *items = realloc(f->items, (f->n + 1) * sizeof(Field));
        if (!items)
                return -ENOMEM;
        f->items = items;
        f->items[f->n] = (Field) {
                .label = strdup(label),
                .value = strdup(value && *value ? value : "-"),
                .color = color,
        };
        if (!f->items[f->n].label || !f->items[f->n].value) {
                free(f->items[f->n].label);
                free(f->items[f->n].value);
                return -ENOMEM;
        }
        f->n++;
        return 0;
}

int fields_print(const Fields *f) {
        int width = 0;
        for (size_t i = 0; i < f->n; i++)
                if ((int) strlen(f->items[i].label) > width)
                        width = (int) strlen(f->items[i].label);
        for (size_t i = 0; i < f->n; i++) {
                /* The daemon's strings (names, emails, endpoints) may hold anything: control
                 * characters and escape sequences are shown, not sent to the terminal.
                 * Continuation lines of a multi-line value line up under the value. */
                char *v = escape_nonprintable(f->items[i].value, output.utf8, true);
                if (!v)
                        return -ENOMEM;
                printf("%*s: %s", width, f->items[i].label, ansi(f->items[i].color));
                for (const char *p = v; *p; p++) {
                        fputc(*p, stdout);
                        if (*p == '\n' && p[1])
                                printf("%*s  ", width, "");
                }
                printf("%s\n", f->items[i].color ? ansi(ANSI_NORMAL) : "");
                free(v);
        }
        return ferror(stdout) ? -EIO : 0;
}

char *strv_join(char *const *l, const char *sep) {
        size_t len = 1, k = 0;
        for (size_t i = 0; l && l[i]; i++)
                len += strlen(l[i]) + strlen(sep);
        char *s = malloc(len);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0) {
                        memcpy(s + k, sep, strlen(sep));
                        k += strlen(sep);
                }
                memcpy(s + k, l[i], strlen(l[i]));
                k += strlen(l[i]);
        }
        s[k] = 0;
        return s;
}
