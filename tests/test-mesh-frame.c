/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mesh relay's view of an incoming D-Bus stream (relay_frame, mesh-relay.c): the
 * authentication lines, then messages whose declared length is held to the cap, whatever
 * the pieces the stream arrives in. */
#include <errno.h>

#include "mesh-internal.h"
#include "test.h"

/* A message header: endianness, type, flags, version, body length, serial, fields length;
 * the fields (zeros here) and the body follow. */
static size_t message(uint8_t *out, char endian, uint32_t fields, uint32_t body) {
        uint8_t h[16] = { (uint8_t) endian, 1, 0, 1 };
        for (int i = 0; i < 4; i++) {
                int shift = endian == 'l' ? 8 * i : 8 * (3 - i);
                h[4 + i] = (uint8_t) (body >> shift);
                h[8 + i] = (uint8_t) (1u >> shift);
                h[12 + i] = (uint8_t) (fields >> shift);
        }
        memcpy(out, h, sizeof(h));
        size_t total = ((16 + fields + 7) & ~7u) + body;
        memset(out + 16, 0, total - 16);
        return total;
}

/* Feed s in pieces of `step` bytes (0: at once); the first error or 0. */
static int feed(RelayFraming *f, const uint8_t *s, size_t n, size_t step) {
        for (size_t o = 0; o < n;) {
                size_t k = step && step < n - o ? step : n - o;
                int r = relay_frame(f, s + o, k);
                if (r < 0)
                        return r;
                o += k;
        }
        return 0;
}

static uint8_t stream[300000];

static void test_frame_one(bool server, const char *lines, char endian, uint32_t body, uint64_t max, int expect) {
        static const size_t steps[] = { 0, 1, 7, 16, 4096 };
        size_t n = strlen(lines) + (server ? 1 : 0);
        if (server)
                stream[0] = 0;
        memcpy(stream + (server ? 1 : 0), lines, strlen(lines));
        n += message(stream + n, endian, 40, 100);           /* one small message first */
        n += message(stream + n, endian, 60, body);
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                RelayFraming f = { .server = server, .max = max };
                ASSERT_EQ(feed(&f, stream, n, steps[i]), expect);
                if (expect == 0)
                        ASSERT_TRUE(f.messages && f.rest == 0 && f.header_len == 0);
        }
}

TEST(frame_cap) {
        /* The coordinator reads a client's lines (after a NUL byte), ending with BEGIN. */
        const char *client = "AUTH ANONYMOUS 74657374\r\nBEGIN\r\n";
        test_frame_one(true, client, 'l', 1000, 65536, 0);
        test_frame_one(true, client, 'B', 1000, 65536, 0);
        /* The header with 60 bytes of fields takes 80 (padded to 8): then exactly the cap. */
        test_frame_one(true, client, 'l', 65536 - 80, 65536, 0);
        test_frame_one(true, client, 'l', 65536 - 79, 65536, -EMSGSIZE);
        test_frame_one(true, client, 'B', 200000, 65536, -EMSGSIZE);
        /* The member reads the server's lines, ending with OK. */
        test_frame_one(false, "DATA\r\nOK 0123456789abcdef0123456789abcdef\r\n", 'l', 250000, 16 << 20, 0);
        test_frame_one(false, "OK 0123456789abcdef0123456789abcdef\r\n", 'l', 250000, 65536, -EMSGSIZE);
}

TEST(frame_not_dbus) {
        RelayFraming f = { .server = true, .max = 65536 };
        ASSERT_EQ(relay_frame(&f, (const uint8_t *) "AUTH", 4), -EBADMSG);       /* no leading NUL */
        /* Lines without end: at most 4 KiB of them. */
        static uint8_t lines[5000];
        memset(lines, 'A', sizeof(lines));
        lines[0] = 0;
        RelayFraming g = { .server = true, .max = 65536 };
        ASSERT_EQ(relay_frame(&g, lines, sizeof(lines)), -EBADMSG);
        /* A header with an unknown endianness byte. */
        RelayFraming h = { .server = false, .max = 65536 };
        const char *ok = "OK 00\r\nXXXXXXXXXXXXXXXX";
        ASSERT_EQ(relay_frame(&h, (const uint8_t *) ok, strlen(ok)), -EBADMSG);
        /* BEGIN must be the whole line. */
        RelayFraming k = { .server = true, .max = 65536 };
        const uint8_t begin_long[] = "\0BEGINX\r\n";
        ASSERT_EQ(relay_frame(&k, begin_long, sizeof(begin_long) - 1), 0);
        ASSERT_FALSE(k.messages);
}

TEST_MAIN()
