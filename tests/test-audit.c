/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit events: every kind has a name and a MESSAGE_ID of 32 lowercase hex digits, and
 * no two kinds share either (journalctl MESSAGE_ID= selects exactly one kind). The ids are
 * part of the interface: they must never change, so they are also pinned here. */
#include <ctype.h>

#include "audit.h"
#include "test.h"

TEST(names_and_ids_unique_and_well_formed) {
        for (AuditEvent e = 0; e < _AUDIT_EVENT_MAX; e++) {
                const char *name = audit_event_to_string(e), *id = audit_event_message_id(e);
                ASSERT_TRUE(name && *name);
                ASSERT_TRUE(id);
                ASSERT_EQ(strlen(id), 32);
                for (const char *c = id; *c; c++)
                        ASSERT_TRUE(isxdigit((unsigned char) *c) && !isupper((unsigned char) *c));
                for (AuditEvent f = e + 1; f < _AUDIT_EVENT_MAX; f++) {
                        ASSERT_TRUE(strcmp(name, audit_event_to_string(f)) != 0);
                        ASSERT_TRUE(strcmp(id, audit_event_message_id(f)) != 0);
                }
        }
        ASSERT_TRUE(audit_event_to_string(_AUDIT_EVENT_MAX) == NULL);
}

static void test_pinned_one(AuditEvent e, const char *name, const char *id) {
        ASSERT_STREQ(audit_event_to_string(e), name);
        ASSERT_STREQ(audit_event_message_id(e), id);
}

TEST(ids_are_stable) {
        test_pinned_one(AUDIT_NETWORK_CREATED, "network-created", "fd38c73f8a894fcda5a66fbdfc09fb3c");
        test_pinned_one(AUDIT_PEER_ADDED, "peer-added", "84d81aeb1db945c09ad3581c3d06a74c");
        test_pinned_one(AUDIT_PEER_REMOVED, "peer-removed", "ff2e588dc420434eb9876f11b028a09f");
        test_pinned_one(AUDIT_PEER_KEYS_ROTATED, "peer-keys-rotated", "499c47b860d747e7828903b529924fc0");
        test_pinned_one(AUDIT_SECRET_READ, "secret-read", "0a82d3f20a624e249e2771d70efa081f");
        test_pinned_one(AUDIT_PEER_REVOKED, "peer-revoked", "c367525656e14a92bbaecf026b37a29b");
}

TEST_MAIN()
