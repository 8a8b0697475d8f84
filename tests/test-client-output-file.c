/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's output file (client/output-file.c): made ready before the secret exists, then
 * written whole or not at all, never over an existing file unless asked to, never through
 * a planted symbolic link, and nothing left behind. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output-file.h"
#include "test.h"

static char dir[64];

static void make_dir(void) {
        strcpy(dir, "/tmp/test-client-output-file-XXXXXX");
        if (!mkdtemp(dir))
                abort();
}

static void remove_dir(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char p[512];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (unlink(p) < 0)
                        rmdir(p);
        }
        closedir(d);
        rmdir(dir);
}

static unsigned count_entries(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        if (d)
                closedir(d);
        return n;
}

static char *path_in_dir(const char *name) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        return p;
}

static void put_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                abort();
}

static char *file_text(const char *path) {
        static char buf[256];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

TEST(new_file) {
        OutputFile f = OUTPUT_FILE_INIT;
        const char *step = NULL;
        struct stat st;

        make_dir();
        char *p = path_in_dir("phone.conf");
        ASSERT_OK(output_file_prepare(&f, p, false));
        /* made ready: the new file exists next to the name, the name is still free */
        ASSERT_EQ(count_entries(), 1);
        ASSERT_TRUE(stat(p, &st) < 0 && errno == ENOENT);
        ASSERT_OK(output_file_commit(&f, "[Interface]\n", 12, &step));
        ASSERT_STREQ(file_text(p), "[Interface]\n");
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        output_file_done(&f);
        ASSERT_EQ(count_entries(), 1);
        free(p);
        remove_dir();
}

TEST(existing_file) {
        OutputFile f = OUTPUT_FILE_INIT;
        const char *step = NULL;
        struct stat st;

        make_dir();
        char *p = path_in_dir("phone.conf");
        put_file(p, "old");
        /* refused before anything is created */
        ASSERT_ERR(output_file_prepare(&f, p, false), EEXIST);
        ASSERT_EQ(count_entries(), 1);
        output_file_done(&f);
        /* --force: replaced, and private */
        ASSERT_OK(chmod(p, 0644));
        ASSERT_OK(output_file_prepare(&f, p, true));
        ASSERT_OK(output_file_commit(&f, "new", 3, &step));
        output_file_done(&f);
        ASSERT_STREQ(file_text(p), "new");
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(count_entries(), 1);
        free(p);
        remove_dir();
}

TEST(appears_meanwhile) {
        OutputFile f = OUTPUT_FILE_INIT;
        const char *step = NULL;

        make_dir();
        char *p = path_in_dir("phone.conf");
        ASSERT_OK(output_file_prepare(&f, p, false));
        put_file(p, "someone else's");
        ASSERT_ERR(output_file_commit(&f, "secret", 6, &step), EEXIST);
        ASSERT_STREQ(step, "renameat2 RENAME_NOREPLACE");
        ASSERT_STREQ(file_text(p), "someone else's");
        output_file_done(&f);
        ASSERT_EQ(count_entries(), 1);
        free(p);
        remove_dir();
}

TEST(planted_symlink) {
        OutputFile f = OUTPUT_FILE_INIT;
        const char *step = NULL;
        struct stat st;

        make_dir();
        char *p = path_in_dir("planted.conf"), *target = path_in_dir("target");
        put_file(target, "target");
        ASSERT_OK(symlink(target, p));
        ASSERT_ERR(output_file_prepare(&f, p, false), EEXIST);
        output_file_done(&f);
        /* a dangling link is taken too */
        ASSERT_OK(unlink(target));
        ASSERT_ERR(output_file_prepare(&f, p, false), EEXIST);
        output_file_done(&f);
        put_file(target, "target");
        /* --force replaces the link itself; its target is never written */
        ASSERT_OK(output_file_prepare(&f, p, true));
        ASSERT_OK(output_file_commit(&f, "secret", 6, &step));
        output_file_done(&f);
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        ASSERT_STREQ(file_text(p), "secret");
        ASSERT_STREQ(file_text(target), "target");
        ASSERT_EQ(count_entries(), 2);
        free(p);
        free(target);
        remove_dir();
}

TEST(bad_places) {
        OutputFile f = OUTPUT_FILE_INIT;

        make_dir();
        char *p = path_in_dir("no-such-dir/x.conf");
        ASSERT_ERR(output_file_prepare(&f, p, false), ENOENT);
        ASSERT_ERR(output_file_prepare(&f, dir, true), EISDIR);
        ASSERT_EQ(count_entries(), 0);
        if (geteuid() != 0) {
                /* a directory this user cannot write to */
                ASSERT_OK(chmod(dir, 0500));
                char *q = path_in_dir("x.conf");
                ASSERT_ERR(output_file_prepare(&f, q, false), EACCES);
                ASSERT_OK(chmod(dir, 0700));
                free(q);
        }
        /* dropped without a commit: the new file goes */
        char *q = path_in_dir("x.conf");
        ASSERT_OK(output_file_prepare(&f, q, false));
        ASSERT_EQ(count_entries(), 1);
        output_file_done(&f);
        ASSERT_EQ(count_entries(), 0);
        output_file_done(&f);   /* twice is fine */
        free(p);
        free(q);
        remove_dir();
}

TEST_MAIN()
