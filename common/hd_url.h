/*
 * hd_url: the webhook URL rules of the seed product, checked with libcurl's own
 * URL parser (so herald and the transfer agree on what the host is): https://
 * only, a host, no userinfo, no explicit port, at most 2048 characters, no
 * whitespace or control characters, no fragment. Address (SSRF) checks happen
 * after DNS resolution at delivery time, in the webhook consumer.
 */
#ifndef HD_URL_H
#define HD_URL_H

#include <stddef.h>

#define HD_URL_MAX_LEN 2048

/* 0 when url is acceptable as a webhook target; -1 with the reason otherwise. When
 * host is non-NULL it receives the host name (lowercased) on success. */
int hd_url_check_webhook(const char *url, char *host, size_t host_size, char *errstr,
                         size_t errstr_size);

#endif
