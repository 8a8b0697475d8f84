/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test.h"

TEST(placeholder) {
        SKIP("not implemented yet");
}

TEST_MAIN()
