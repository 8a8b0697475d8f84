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
}

/* The coordinator takes only the lines a member's sd-bus sends: sd-bus answers anything
 * else with ERROR and reads on, and a relay that took a BEGIN sd-bus refused as the end
 * of the lines would follow made-up lengths while sd-bus still reads lines. */
TEST(frame_client_lines) {
        static const struct {
                const char *lines;
                int expect;             /* after the lines and a small message */
        } cases[] = {
                { "AUTH ANONYMOUS 616e6f6e796d6f7573\r\nBEGIN\r\n", 0 },        /* what sd-bus sends */
                { "AUTH ANONYMOUS 616E6F6E\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n", 0 },
                { "AUTH ANONYMOUS\r\nBEGIN\r\n", 0 },
                { "BEGIN\r\n", -EBADMSG },                                       /* before AUTH */
                { "BEGINX\r\n", -EBADMSG },
                { "AUTH EXTERNAL 30\r\nBEGIN\r\n", -EBADMSG },
                { "AUTH ANONYMOUS 6\r\nBEGIN\r\n", -EBADMSG },                  /* odd hex */
                { "AUTH ANONYMOUS 0a\r\nBEGIN\r\n", -EBADMSG },                 /* not printable (stricter than sd-bus) */
                { "AUTH ANONYMOUS 7g\r\nBEGIN\r\n", -EBADMSG },
                { "AUTH ANONYMOUS 61\nBEGIN\r\n", -EBADMSG },                    /* LF without CR */
                { "AUTH ANONYMOUS 61\r\nAUTH ANONYMOUS\r\nBEGIN\r\n", -EBADMSG },
                { "AUTH ANONYMOUS 61\r\nNEGOTIATE_UNIX_FD\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n", -EBADMSG },
                { "AUTH ANONYMOUS 61\r\nCANCEL\r\nBEGIN\r\n", -EBADMSG },
                { "AUTH ANONYMOUS 61\r\nDATA\r\nBEGIN\r\n", -EBADMSG },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = 1 + strlen(cases[i].lines);
                stream[0] = 0;
                memcpy(stream + 1, cases[i].lines, n - 1);
                n += message(stream + n, 'l', 40, 100);
                for (size_t step = 0; step <= 1; step++) {
                        RelayFraming f = { .server = true, .max = 65536 };
                        int r = feed(&f, stream, n, step);
                        if (r != cases[i].expect)
                                TEST_FAIL("case %zu (%s), step %zu: %d, expected %d", i, cases[i].lines, step, r,
                                          cases[i].expect);
                }
        }
        /* A line longer than any of ours */
        static uint8_t longline[400];
        memset(longline, 'a', sizeof(longline));
        longline[0] = 0;
        RelayFraming g = { .server = true, .max = 65536 };
        ASSERT_EQ(relay_frame(&g, longline, sizeof(longline)), -EBADMSG);
}

TEST_MAIN()
