/*
 * Fuzz target: webhook URL rules and the SSRF guard's parsers on hostile text.
 * The input is tried as a URL (hd_url_check_webhook: an accepted URL must be
 * https:// with a host and within the length limit), as a CIDR, and its first
 * bytes as an IPv4/IPv6 address to classify (never resolved: no DNS in a fuzzer).
 */
#include "hd_ssrf.h"
#include "hd_url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void hd_fuzz_addr(const uint8_t *data, size_t size)
{
        struct sockaddr_in v4 = {.sin_family = AF_INET};
        struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
        hd_cidr_t allow;

        if (size >= 4) {
                memcpy(&v4.sin_addr, data, 4);
                (void)hd_addr_refusal((struct sockaddr *)&v4, NULL, 0);
        }
        if (size >= 16) {
                memcpy(&v6.sin6_addr, data, 16);
                (void)hd_addr_refusal((struct sockaddr *)&v6, NULL, 0);
                if (!hd_cidr_parse("::/0", &allow, NULL, 0) &&
                    hd_addr_refusal((struct sockaddr *)&v6, &allow, 1) != NULL)
                        abort(); /* the allow-list lets everything through */
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), host[512], err[512];
        hd_cidr_t c;

        memcpy(text, data, size);
        text[size] = '\0';
        if (hd_url_check_webhook(text, host, sizeof(host), err, sizeof(err)) == 0) {
                /* what is accepted really is an https URL (the scheme is case-insensitive)
                 * of bounded length with a host */
                if (strncasecmp(text, "https://", 8) || !host[0] || strlen(text) > HD_URL_MAX_LEN)
                        abort();
        } else if (!err[0]) {
                abort(); /* every refusal says why */
        }
        if (hd_cidr_parse(text, &c, err, sizeof(err)) == 0 &&
            ((c.family == AF_INET && (c.bits < 0 || c.bits > 32)) ||
             (c.family == AF_INET6 && (c.bits < 0 || c.bits > 128))))
                abort();
        hd_fuzz_addr(data, size);
        free(text);
        return 0;
}
