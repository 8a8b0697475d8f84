/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers of db.c for the other daemon/db-*.c files (all SQL stays in daemon/db*.c). */

#include <sqlite3.h>
#include <stddef.h>

#include "addr.h"

/* Negative errno for an SQLite result code (0 for OK, DONE, ROW). */
int db_sqlite_errno(int rc);
void db_stmt_finalizep(sqlite3_stmt **s);
/* A column's text, "" for NULL. */
const char *db_column_text(sqlite3_stmt *s, int i);
/* Lists of prefixes are stored as text joined by ','. */
char *db_prefixes_join(const IpPrefix *p, size_t n);
int db_prefixes_split(const char *text, IpPrefix **ret, size_t *ret_n);
/* Lists of strings likewise (DNS entries); a NULL-terminated list. */
int db_strv_split_comma(const char *text, char ***ret);
/* A statement prepared for one use (finalize it with db_stmt_finalizep); -EIO on failure. */
int db_prepare(struct Db *db, const char *sql, sqlite3_stmt **ret);

/* Bind a parameter, or return -EIO from the calling function. */
#define DB_BIND(expr)                                           \
        do {                                                    \
                if ((expr) != SQLITE_OK)                        \
                        return -EIO;                            \
        } while (0)
