/* Webhook targets: URL rules and the SSRF guard after resolution, as a table. */
#include "hd_ssrf.h"
#include "hd_test.h"
#include "hd_util.h"

typedef struct {
        const char *url;
        const char *want; /* NULL = allowed; else a substring of the refusal */
} hd_case_t;

static const hd_case_t cases[] = {
        {"https://93.184.216.34/hook", NULL},
        {"https://[2606:4700:4700::1111]/hook", NULL},
        {"https://8.8.8.8/a?b=c", NULL},
        {"http://93.184.216.34/hook", "must start with https://"},
        {"ftp://93.184.216.34/", "must start with https://"},
        {"https://93.184.216.34:8443/hook", "must not name a port"},
        {"https://93.184.216.34:443/hook", "must not name a port"},
        {"https://user:pw@93.184.216.34/", "must not contain user information"},
        {"https://user@93.184.216.34/", "must not contain user information"},
        {"https://93.184.216.34/a b", "whitespace or a control character"},
        {"https:///nohost", "does not resolve"}, /* curl reads the host "nohost" */
        {"https://127.0.0.1/", "(loopback)"},
        {"https://127.1.2.3/", "(loopback)"},
        {"https://10.0.0.1/", "(private)"},
        {"https://10.255.255.255/", "(private)"},
        {"https://172.16.0.1/", "(private)"},
        {"https://172.31.255.254/", "(private)"},
        {"https://192.168.1.1/", "(private)"},
        {"https://169.254.169.254/latest/meta-data/", "(metadata)"},
        {"https://169.254.10.10/", "(link-local)"},
        {"https://100.64.0.1/", "(CGNAT)"},
        {"https://100.127.255.1/", "(CGNAT)"},
        {"https://0.0.0.0/", "(unspecified)"},
        {"https://224.0.0.1/", "(multicast)"},
        {"https://240.0.0.1/", "(reserved)"},
        {"https://255.255.255.255/", "(broadcast)"},
        {"https://192.0.2.10/", "(documentation)"},
        {"https://2130706433/", "(loopback)"},  /* decimal 127.0.0.1 */
        {"https://0x7f000001/", "(loopback)"},  /* hex */
        {"https://0177.0.0.1/", "(loopback)"},  /* octal */
        {"https://0x0a.0.0.1/", "(private)"},   /* hex octet 10 */
        {"https://[::1]/", "(loopback)"},
        {"https://[::]/", "(unspecified)"},
        {"https://[::ffff:127.0.0.1]/", "(IPv4-mapped)"},
        {"https://[::ffff:93.184.216.34]/", "(IPv4-mapped)"},
        {"https://[fc00::1]/", "(unique-local)"},
        {"https://[fd12:3456::1]/", "(unique-local)"},
        {"https://[fe80::1]/", "(link-local)"},
        {"https://[64:ff9b::7f00:1]/", "(NAT64)"},
        {"https://[2002:7f00:1::1]/", "(6to4)"},
        {"https://[2001:db8::1]/", "(documentation)"},
        {"https://[ff02::1]/", "(multicast)"},
        {"https://[fd00:ec2::254]/", "(metadata)"},
        {"https://localhost/hook", "(loopback)"}, /* a name that resolves inside */
        {"https://no-such-host.invalid/", "does not resolve"},
};

static void test_table(void)
{
        char host[256], vetted[64], err[512];
        char long_url[2100];

        HD_CHECK(HD_ARRAY_SIZE(cases) >= 30);
        for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
                int r = hd_ssrf_check_url(cases[i].url, NULL, 0, host, sizeof(host), vetted,
                                          sizeof(vetted), err, sizeof(err));
                if (!cases[i].want)
                        HD_CHECK_MSG(r == 0, "%s refused: %s", cases[i].url, err);
                else
                        HD_CHECK_MSG(r != 0 && strstr(err, cases[i].want),
                                     "%s: want \"%s\", got %s", cases[i].url, cases[i].want,
                                     r ? err : "allowed");
        }
        memset(long_url, 'a', sizeof(long_url));
        memcpy(long_url, "https://93.184.216.34/", 22);
        long_url[2049] = '\0';
        HD_CHECK(hd_ssrf_check_url(long_url, NULL, 0, host, sizeof(host), vetted,
                                   sizeof(vetted), err, sizeof(err)) != 0);
        HD_CHECK_CONTAINS(err, "2049 characters long, at most 2048");
}

static void test_allow_list_and_vetting(void)
{
        hd_cidr_t allow[2];
        char host[256], vetted[64], err[512];

        HD_CHECK(hd_cidr_parse("127.0.0.0/8", &allow[0], err, sizeof(err)) == 0);
        HD_CHECK(hd_cidr_parse("::1", &allow[1], err, sizeof(err)) == 0);
        HD_CHECK(hd_ssrf_check_url("https://127.0.0.1/x", allow, 2, host, sizeof(host), vetted,
                                   sizeof(vetted), err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(vetted, "127.0.0.1");
        HD_CHECK(hd_ssrf_check_url("https://[::1]/x", allow, 2, host, sizeof(host), vetted,
                                   sizeof(vetted), err, sizeof(err)) == 0);
        HD_CHECK_STR_EQ(vetted, "[::1]");
        HD_CHECK(hd_ssrf_check_url("https://10.0.0.1/x", allow, 2, host, sizeof(host), vetted,
                                   sizeof(vetted), err, sizeof(err)) != 0);
        HD_CHECK(hd_cidr_parse("10.0.0.0/33", &allow[0], err, sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "\"10.0.0.0/33\": prefix length must be 0 to 32");
        HD_CHECK(hd_cidr_parse("nonsense", &allow[0], err, sizeof(err)) != 0);
}

int main(void)
{
        test_table();
        test_allow_list_and_vetting();
        return hd_test_finish("test_ssrf");
}
