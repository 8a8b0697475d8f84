/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "test.h"
#include "wgnet-error.h"

TEST(names_and_errnos_are_unique) {
        for (const WgnetError *a = wgnet_errors; a->name; a++)
                for (const WgnetError *b = a + 1; b->name; b++) {
                        ASSERT_TRUE(strcmp(a->name, b->name) != 0);
                        ASSERT_NE(a->errnum, b->errnum);
                }
}

TEST(mapping_both_ways) {
        for (const WgnetError *e = wgnet_errors; e->name; e++) {
                ASSERT_STREQ(wgnet_error_name(e->errnum), e->name);
                ASSERT_EQ(wgnet_error_errno(e->name), e->errnum);
                ASSERT_TRUE(strncmp(e->name, WGNET_ERROR_PREFIX, strlen(WGNET_ERROR_PREFIX)) == 0);
        }
        ASSERT_STREQ(wgnet_error_name(EEXIST), "org.wgnet1.Error.NetworkExists");
        ASSERT_EQ(wgnet_error_errno("org.wgnet1.Error.NoSuchThing"), 0);
        ASSERT_EQ(wgnet_error_errno(NULL), 0);
        ASSERT_TRUE(wgnet_error_name(EPERM) == NULL);
}

TEST_MAIN()
