/* hd_test: see hd_test.h. */
#include "hd_test.h"
#include "hd_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int hd_test_failures;
int hd_test_checks;

int hd_test_finish(const char *name)
{
        fprintf(stderr, "%s: %d checks, %d failed\n", name, hd_test_checks,
                hd_test_failures);
        if (hd_test_checks == 0) {
                fprintf(stderr, "%s: no checks ran\n", name);
                return 1;
        }
        return hd_test_failures ? 1 : 0;
}

static int hd_mkdirs(const char *path)
{
        char buf[1024];

        hd_strlcpy(buf, path, sizeof(buf));
        for (char *p = buf + 1; *p; p++) {
                if (*p == '/') {
                        *p = '\0';
                        mkdir(buf, 0755);
                        *p = '/';
                }
        }
        return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

const char *hd_test_tmpdir(void)
{
        static char dir[1024];
        const char *t;

        if (dir[0])
                return dir;
        t = getenv("HERALD_TEST_TMP");
        if (t && *t) {
                hd_strlcpy(dir, t, sizeof(dir));
                hd_mkdirs(dir);
        } else {
                hd_strlcpy(dir, "/tmp/herald-test-XXXXXX", sizeof(dir));
                if (!mkdtemp(dir)) {
                        perror("mkdtemp");
                        exit(2);
                }
        }
        return dir;
}

const char *hd_test_bin(const char *name)
{
        static char slots[8][1024];
        static int next;
        const char *b = getenv("HERALD_BIN_DIR");
        char *out = slots[next++ % 8];

        snprintf(out, 1024, "%s/%s", b && *b ? b : "build/bin", name);
        return out;
}

const char *hd_test_src(const char *rel)
{
        static char slots[8][1024];
        static int next;
        const char *s = getenv("HERALD_SOURCE_DIR");
        char *out = slots[next++ % 8];

        snprintf(out, 1024, "%s/%s", s && *s ? s : ".", rel);
        return out;
}

int hd_test_wait_for(int (*fn)(void *), void *arg, int want, int timeout_ms)
{
        int64_t deadline = hd_mono_us() + (int64_t)timeout_ms * 1000;
        int got;

        while ((got = fn(arg)) < want && hd_mono_us() < deadline)
                usleep(50000);
        return got;
}

typedef struct hd_test_buf {
        char *p;
        size_t n;
} hd_test_buf_t;

static size_t hd_test_on_data(char *d, size_t s, size_t n, void *o)
{
        hd_test_buf_t *b = o;

        b->p = realloc(b->p, b->n + s * n + 1);
        memcpy(b->p + b->n, d, s * n);
        b->n += s * n;
        b->p[b->n] = 0;
        return s * n;
}

long hd_test_http(const char *base, const char *method, const char *path, const char *body,
                  char **out)
{
        CURL *c = curl_easy_init();
        char url[1200];
        hd_test_buf_t b = {calloc(1, 1), 0};
        long status = 0;

        snprintf(url, sizeof(url), "%s%s", base, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hd_test_on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        *out = b.p;
        return status;
}
