/* hd_util: see hd_util.h. */
#include "hd_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int hd_seterr(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        va_list ap;

        if (errstr && errstr_size) {
                va_start(ap, fmt);
                vsnprintf(errstr, errstr_size, fmt, ap);
                va_end(ap);
        }
        return -1;
}

void hd_preperr(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        char prefix[256], old[HD_ERRSTR_SIZE];
        va_list ap;

        if (!errstr || !errstr_size)
                return;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        hd_strlcpy(old, errstr, sizeof(old));
        snprintf(errstr, errstr_size, "%s: %s", prefix, old);
}

size_t hd_strlcpy(char *dst, const char *src, size_t size)
{
        size_t len = strlen(src);

        if (size) {
                size_t n = len < size - 1 ? len : size - 1;
                memcpy(dst, src, n);
                dst[n] = '\0';
        }
        return len;
}

int64_t hd_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hd_mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *hd_read_file(const char *path, size_t max_size, size_t *lenp, char *errstr,
                   size_t errstr_size)
{
        FILE *fp = fopen(path, "rb");
        char *buf;
        size_t len = 0, cap = 4096;

        if (!fp) {
                hd_seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return NULL;
        }
        buf = hd_malloc(cap + 1);
        for (;;) {
                size_t n = fread(buf + len, 1, cap - len, fp);
                len += n;
                if (len > max_size) {
                        hd_seterr(errstr, errstr_size, "%s: larger than %zu bytes", path,
                                  max_size);
                        goto fail;
                }
                if (n == 0)
                        break;
                if (len == cap) {
                        cap *= 2;
                        buf = hd_realloc(buf, cap + 1);
                }
        }
        if (ferror(fp)) {
                hd_seterr(errstr, errstr_size, "%s: read error", path);
                goto fail;
        }
        fclose(fp);
        buf[len] = '\0';
        if (lenp)
                *lenp = len;
        return buf;
fail:
        fclose(fp);
        free(buf);
        return NULL;
}

static void *hd_oom(void *p)
{
        if (!p) {
                fputs("herald: out of memory\n", stderr);
                abort();
        }
        return p;
}

void *hd_malloc(size_t size)
{
        return hd_oom(malloc(size ? size : 1));
}

void *hd_calloc(size_t n, size_t size)
{
        return hd_oom(calloc(n ? n : 1, size ? size : 1));
}

void *hd_realloc(void *p, size_t size)
{
        return hd_oom(realloc(p, size ? size : 1));
}

char *hd_strdup(const char *s)
{
        return hd_oom(strdup(s));
}

char *hd_strndup(const char *s, size_t n)
{
        return hd_oom(strndup(s, n));
}
