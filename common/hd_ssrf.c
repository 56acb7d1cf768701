/* hd_ssrf: see hd_ssrf.h. */
#include "hd_ssrf.h"
#include "hd_url.h"
#include "hd_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hd_range {
        const char *cidr;
        const char *why;
} hd_range_t;

/* Most specific first: the first match names the class. */
static const hd_range_t hd_refused[] = {
        {"169.254.169.254/32", "metadata"}, {"0.0.0.0/8", "unspecified"},
        {"10.0.0.0/8", "private"},          {"100.64.0.0/10", "CGNAT"},
        {"127.0.0.0/8", "loopback"},        {"169.254.0.0/16", "link-local"},
        {"172.16.0.0/12", "private"},       {"192.0.0.0/24", "reserved"},
        {"192.0.2.0/24", "documentation"},  {"192.88.99.0/24", "reserved"},
        {"192.168.0.0/16", "private"},      {"198.18.0.0/15", "reserved"},
        {"198.51.100.0/24", "documentation"}, {"203.0.113.0/24", "documentation"},
        {"224.0.0.0/4", "multicast"},       {"255.255.255.255/32", "broadcast"},
        {"240.0.0.0/4", "reserved"},
        {"fd00:ec2::254/128", "metadata"},  {"::/128", "unspecified"},
        {"::1/128", "loopback"},            {"::ffff:0:0/96", "IPv4-mapped"},
        {"::/96", "reserved"},              {"64:ff9b::/96", "NAT64"},
        {"64:ff9b:1::/48", "NAT64"},        {"100::/64", "reserved"},
        {"2001::/32", "Teredo"},            {"2001:db8::/32", "documentation"},
        {"2001::/23", "reserved"},          {"2002::/16", "6to4"},
        {"fc00::/7", "unique-local"},       {"fe80::/10", "link-local"},
        {"fec0::/10", "site-local"},        {"ff00::/8", "multicast"},
};

int hd_cidr_parse(const char *text, hd_cidr_t *out, char *errstr, size_t errstr_size)
{
        char buf[80], *slash;
        int max;

        if (strlen(text) >= sizeof(buf))
                return hd_seterr(errstr, errstr_size, "\"%s\" is not a CIDR range", text);
        strcpy(buf, text);
        slash = strchr(buf, '/');
        if (slash)
                *slash = '\0';
        memset(out, 0, sizeof(*out));
        if (inet_pton(AF_INET, buf, out->addr) == 1)
                out->family = AF_INET, max = 32;
        else if (inet_pton(AF_INET6, buf, out->addr) == 1)
                out->family = AF_INET6, max = 128;
        else
                return hd_seterr(errstr, errstr_size, "\"%s\" is not a CIDR range", text);
        out->bits = max;
        if (slash) {
                char *end;
                long bits = strtol(slash + 1, &end, 10);
                if (!slash[1] || *end || bits < 0 || bits > max)
                        return hd_seterr(errstr, errstr_size, "\"%s\": prefix length must "
                                         "be 0 to %d", text, max);
                out->bits = (int)bits;
        }
        return 0;
}

static int hd_cidr_match(const hd_cidr_t *c, int family, const unsigned char *addr)
{
        int full = c->bits / 8, rest = c->bits % 8;

        if (c->family != family)
                return 0;
        if (memcmp(c->addr, addr, (size_t)full))
                return 0;
        return !rest || ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

const char *hd_addr_refusal(const struct sockaddr *sa, const hd_cidr_t *allow, size_t nallow)
{
        unsigned char addr[16];
        int family = sa->sa_family;

        if (family == AF_INET)
                memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        else if (family == AF_INET6)
                memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        else
                return "reserved";
        for (size_t i = 0; i < nallow; i++)
                if (hd_cidr_match(&allow[i], family, addr))
                        return NULL;
        for (size_t i = 0; i < HD_ARRAY_SIZE(hd_refused); i++) {
                hd_cidr_t c;
                hd_cidr_parse(hd_refused[i].cidr, &c, NULL, 0);
                if (hd_cidr_match(&c, family, addr))
                        return hd_refused[i].why;
        }
        return NULL;
}

int hd_ssrf_resolve(const char *host, const hd_cidr_t *allow, size_t nallow, char *vetted,
                    size_t vetted_size, char *errstr, size_t errstr_size)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
        char text[INET6_ADDRSTRLEN], bare[256];
        size_t n = strlen(host);
        int rc;

        /* libcurl gives IPv6 literals in brackets. */
        if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(bare))
                snprintf(bare, sizeof(bare), "%.*s", (int)(n - 2), host + 1);
        else
                hd_strlcpy(bare, host, sizeof(bare));
        if ((rc = getaddrinfo(bare, "443", &hints, &res)))
                return hd_seterr(errstr, errstr_size, "%s does not resolve: %s", host,
                                 gai_strerror(rc));
        vetted[0] = '\0';
        for (ai = res; ai; ai = ai->ai_next) {
                const void *a = ai->ai_family == AF_INET
                                        ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                        : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
                const char *why = hd_addr_refusal(ai->ai_addr, allow, nallow);
                inet_ntop(ai->ai_family, a, text, sizeof(text));
                if (why) {
                        /* One bad answer refuses the host: mixed answers are a rebinding trick. */
                        freeaddrinfo(res);
                        return hd_seterr(errstr, errstr_size, "%s resolves to %s (%s)", host,
                                         text, why);
                }
                if (!vetted[0])
                        snprintf(vetted, vetted_size, ai->ai_family == AF_INET6 ? "[%s]" : "%s",
                                 text);
        }
        freeaddrinfo(res);
        return vetted[0] ? 0 : hd_seterr(errstr, errstr_size, "%s has no address", host);
}

int hd_ssrf_check_url(const char *url, const hd_cidr_t *allow, size_t nallow, char *host,
                      size_t host_size, char *vetted, size_t vetted_size, char *errstr,
                      size_t errstr_size)
{
        if (hd_url_check_webhook(url, host, host_size, errstr, errstr_size))
                return -1;
        return hd_ssrf_resolve(host, allow, nallow, vetted, vetted_size, errstr, errstr_size);
}
