/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What wgnet-exporter accepts of an HTTP request's headers (http-request.h). */

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http-request.h"

/* The value of a header (case-insensitive name with its ':'), trimmed, into buf; false when
 * the request has none. */
static bool header_value(const char *req, const char *name, char *buf, size_t size) {
        size_t n = strlen(name);
        for (const char *l = strchr(req, '\n'); l; l = strchr(l + 1, '\n')) {
                if (strncasecmp(l + 1, name, n) != 0)
                        continue;
                const char *v = l + 1 + n;
                v += strspn(v, " \t");
                size_t k = strcspn(v, "\r\n");
                while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t'))
                        k--;
                if (k >= size)
                        k = size - 1;
                memcpy(buf, v, k);
                buf[k] = 0;
                return true;
        }
        return false;
}

/* A Host header a scraper sends: an address literal, localhost, this host's name, or a
 * name in WGNET_EXPORTER_HOSTS (comma-separated). A page that rebinds its own name to this
 * host sends that name: refused, so it cannot read the metrics as its own origin (browsers
 * mark only requests to secure origins with Sec-Fetch-*). */
static bool host_allowed(const char *host) {
        char name[256], self[256];
        struct in6_addr a6;
        struct in_addr a4;
        size_t n;

        if (host[0] == '[') {
                n = strcspn(host + 1, "]");
                if (host[1 + n] != ']' || n >= sizeof(name))
                        return false;
                memcpy(name, host + 1, n);
                name[n] = 0;
                return inet_pton(AF_INET6, name, &a6) == 1;
        }
        n = strcspn(host, ":");
        if (n == 0 || n >= sizeof(name))
                return false;
        memcpy(name, host, n);
        name[n] = 0;
        if (inet_pton(AF_INET, name, &a4) == 1 || strcasecmp(name, "localhost") == 0)
                return true;
        memset(self, 0, sizeof(self));
        if (gethostname(self, sizeof(self) - 1) == 0 && strcasecmp(name, self) == 0)
                return true;
        const char *list = getenv("WGNET_EXPORTER_HOSTS");
        for (const char *p = list; p && *p;) {
                size_t k = strcspn(p, ",");
                if (k == n && strncasecmp(p, name, n) == 0)
                        return true;
                p += k + (p[k] == ',');
        }
        return false;
}

/* Does a header line of the request start with this (case-insensitive)? */
static bool header_present(const char *req, const char *prefix) {
        size_t n = strlen(prefix);
        for (const char *l = strchr(req, '\n'); l; l = strchr(l + 1, '\n'))
                if (strncasecmp(l + 1, prefix, n) == 0)
                        return true;
        return false;
}

bool http_request_allowed(const char *req) {
        char host[300];
        return !header_present(req, "Sec-Fetch-") && !header_present(req, "Origin:") &&
               (!header_value(req, "Host:", host, sizeof(host)) || host_allowed(host));
}

bool http_request_line(const char *req, char *method, char *target) {
        /* (%n: sscanf counts only what it assigns, so the version is checked by its end.) */
        int end = -1;
        return sscanf(req, "%15s %1023s HTTP/1.%*1[01]%n", method, target, &end) == 2 && end >= 0 &&
               strchr("\r\n", req[end]);
}
