/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgconf_parse on arbitrary bytes: no crash; a rejection names its line in valid UTF-8
 * (the importer sends it over D-Bus, which refuses anything else); whatever is accepted
 * renders, the rendering parses, and rendering that again gives the same text. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8-valid.h"
#include "wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) {
        fprintf(stderr, "fuzz-wgconf: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WgConf *c = NULL, *c2 = NULL;
        char *err = NULL, *r1 = NULL, *r2 = NULL;
        int r;

        r = wgconf_parse((const char *) data, size, &c, &err);
        if (r < 0) {
                if (r == -ENOMEM)
                        return 0;
                if (r != -EINVAL || c)
                        die("unexpected parse result", NULL);
                if (!err || strncmp(err, "line ", 5) != 0)
                        die("error does not name a line", err);
                if (!utf8_valid(err, strlen(err)))
                        die("error is not UTF-8", NULL);
                free(err);
                return 0;
        }

        if (wgconf_render(c, &r1) < 0)
                die("parsed config does not render", NULL);
        r = wgconf_parse(r1, strlen(r1), &c2, &err);
        if (r < 0)
                die("rendered config does not parse", err);
        if (wgconf_render(c2, &r2) < 0)
                die("reparsed config does not render", NULL);
        if (strcmp(r1, r2) != 0) {
                fprintf(stderr, "first:\n%s\nsecond:\n%s\n", r1, r2);
                die("render -> parse -> render is not the identity", NULL);
        }
        if (c->n_peers != c2->n_peers || c->n_addresses != c2->n_addresses ||
            c->has_private_key != c2->has_private_key || c->n_comments != c2->n_comments)
                die("reparsed config differs", NULL);

        wg_wipe_free_string(r1);
        wg_wipe_free_string(r2);
        wgconf_free(c);
        wgconf_free(c2);
        return 0;
}
