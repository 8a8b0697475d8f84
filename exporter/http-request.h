/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Not for browsers (docs/metrics.md): false for a request that a browser marks (Sec-Fetch-*,
 * Origin) or whose Host is not an address, localhost, this host's name or a name listed in
 * WGNET_EXPORTER_HOSTS (comma-separated): a page that rebinds its own name to this host
 * would read the metrics as its own origin. req: the request line and headers, NUL-ended. */
bool http_request_allowed(const char *req);

/* "METHOD TARGET HTTP/1.0|1.1" at the start of req, into method[16] and target[1024]; false
 * for anything else (another version, none, more after it on the line). */
bool http_request_line(const char *req, char *method, char *target);
