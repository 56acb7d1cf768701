/*
 * hd_ssrf: where a webhook may connect. After DNS resolution every address of the
 * target is classified; loopback, private, link-local, CGNAT, multicast, reserved,
 * documentation, cloud metadata and IPv6 ULA/link-local/mapped/NAT64/6to4
 * addresses are refused, and the transfer is then pinned to the vetted address
 * (the connection goes to that address: hd_wh_h1, or CURLOPT_RESOLVE for curl),
 * so a second DNS answer cannot redirect it. An explicit CIDR
 * allow-list (dev and tests only, never a default) lets chosen ranges through.
 */
#ifndef HD_SSRF_H
#define HD_SSRF_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct hd_cidr {
        int family;             /* AF_INET or AF_INET6 */
        unsigned char addr[16];
        int bits;
} hd_cidr_t;

/* Parses "10.0.0.0/8" or "fd00::/8" (a bare address = /32 or /128). */
int hd_cidr_parse(const char *text, hd_cidr_t *out, char *errstr, size_t errstr_size);

/*
 * NULL when the address is public (or allow-listed), else the class that refuses
 * it: "loopback", "private", "link-local", "metadata", "CGNAT", "multicast",
 * "reserved", "documentation", "unspecified", "broadcast", "IPv4-mapped",
 * "NAT64", "6to4", "unique-local", "site-local", "Teredo".
 */
const char *hd_addr_refusal(const struct sockaddr *sa, const hd_cidr_t *allow, size_t nallow);

/*
 * Resolves host (port 443) and checks every address. 0 with the first address in
 * vetted (text, for CURLOPT_RESOLVE), or -1: "hooks.example resolves to 10.1.2.3
 * (private)" / resolution failures.
 */
int hd_ssrf_resolve(const char *host, const hd_cidr_t *allow, size_t nallow, char *vetted,
                    size_t vetted_size, char *errstr, size_t errstr_size);

/* URL rules (hd_url.h), then hd_ssrf_resolve on its host. */
int hd_ssrf_check_url(const char *url, const hd_cidr_t *allow, size_t nallow, char *host,
                      size_t host_size, char *vetted, size_t vetted_size, char *errstr,
                      size_t errstr_size);

#endif
