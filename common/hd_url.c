/* hd_url: see hd_url.h. */
#include "hd_url.h"
#include "hd_util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

/* True when the URL has a non-empty part (the value itself is not needed). */
static int hd_url_has(CURLU *u, CURLUPart part)
{
        char *v = NULL;
        int has = curl_url_get(u, part, &v, 0) == CURLUE_OK && v && *v;

        curl_free(v);
        return has;
}

static int hd_url_parts(CURLU *u, const char *url, char *host, size_t host_size,
                        char *errstr, size_t errstr_size)
{
        char *v = NULL;

        if (hd_url_has(u, CURLUPART_USER) || hd_url_has(u, CURLUPART_PASSWORD))
                return hd_seterr(errstr, errstr_size,
                                 "URL must not contain user information (use the "
                                 "subscription's auth settings)");
        if (hd_url_has(u, CURLUPART_PORT))
                return hd_seterr(errstr, errstr_size,
                                 "URL must not name a port (https on 443 only)");
        if (hd_url_has(u, CURLUPART_FRAGMENT))
                return hd_seterr(errstr, errstr_size, "URL must not contain a fragment");
        if (curl_url_get(u, CURLUPART_HOST, &v, 0) != CURLUE_OK || !v || !*v) {
                curl_free(v);
                return hd_seterr(errstr, errstr_size, "URL has no host: %s", url);
        }
        if (host) {
                size_t i;
                for (i = 0; v[i] && i + 1 < host_size; i++)
                        host[i] = (char)tolower((unsigned char)v[i]);
                host[i] = '\0';
        }
        curl_free(v);
        return 0;
}

int hd_url_check_webhook(const char *url, char *host, size_t host_size, char *errstr,
                         size_t errstr_size)
{
        size_t len = strlen(url);
        CURLU *u;
        CURLUcode uc;
        int r;

        if (len > HD_URL_MAX_LEN)
                return hd_seterr(errstr, errstr_size,
                                 "URL is %zu characters long, at most %d are allowed", len,
                                 HD_URL_MAX_LEN);
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
                        return hd_seterr(errstr, errstr_size,
                                         "URL contains whitespace or a control character "
                                         "at position %zu", i);
        if (strncasecmp(url, "https://", 8))
                return hd_seterr(errstr, errstr_size, "URL must start with https://");
        if (!(u = curl_url()))
                return hd_seterr(errstr, errstr_size, "out of memory");
        uc = curl_url_set(u, CURLUPART_URL, url, 0);
        if (uc != CURLUE_OK)
                r = hd_seterr(errstr, errstr_size, "invalid URL: %s", curl_url_strerror(uc));
        else
                r = hd_url_parts(u, url, host, host_size, errstr, errstr_size);
        curl_url_cleanup(u);
        return r;
}
