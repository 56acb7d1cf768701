/* hd_log: see hd_log.h. */
#include "hd_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HD_LOG_MAX_SECRETS 64
#define HD_LOG_LINE_MAX    4096

static hd_log_level_t hd_log_level = HD_LOG_INFO;
static pthread_mutex_t hd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *hd_log_secrets[HD_LOG_MAX_SECRETS];
static size_t hd_log_nsecrets;

static const char *const hd_level_names[] = {"debug", "info", "warn", "error", "off"};

void hd_log_set_level(hd_log_level_t level)
{
        hd_log_level = level;
}

hd_log_level_t hd_log_get_level(void)
{
        return hd_log_level;
}

int hd_log_level_parse(const char *name)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(hd_level_names); i++)
                if (!strcasecmp(name, hd_level_names[i]))
                        return (int)i;
        return -1;
}

void hd_log_add_secret(const char *secret)
{
        if (!secret || strlen(secret) < 4)
                return;
        pthread_mutex_lock(&hd_log_lock);
        for (size_t i = 0; i < hd_log_nsecrets; i++) {
                if (!strcmp(hd_log_secrets[i], secret)) {
                        pthread_mutex_unlock(&hd_log_lock);
                        return;
                }
        }
        if (hd_log_nsecrets < HD_LOG_MAX_SECRETS)
                hd_log_secrets[hd_log_nsecrets++] = hd_strdup(secret);
        pthread_mutex_unlock(&hd_log_lock);
}

void hd_log_clear_secrets(void)
{
        pthread_mutex_lock(&hd_log_lock);
        for (size_t i = 0; i < hd_log_nsecrets; i++)
                free(hd_log_secrets[i]);
        hd_log_nsecrets = 0;
        pthread_mutex_unlock(&hd_log_lock);
}

int hd_log_key_is_secret(const char *key)
{
        static const char *const words[] = {"password", "secret", "token",
                                            "authorization", "auth", "credential",
                                            "private"};
        char low[128];
        size_t i;

        for (i = 0; key[i] && i < sizeof(low) - 1; i++)
                low[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
        low[i] = '\0';
        for (i = 0; i < HD_ARRAY_SIZE(words); i++)
                if (strstr(low, words[i]))
                        return 1;
        return 0;
}

/* Appends s to buf, quoting when needed, and scrubbing registered secrets. */
static size_t hd_log_put_value(char *buf, size_t size, size_t off, const char *s)
{
        int quote = (*s == '\0');
        char tmp[HD_LOG_LINE_MAX];
        size_t n = 0;

        /* Scrub secrets first so escaping cannot split one. */
        for (const char *p = s; *p && n < sizeof(tmp) - 16;) {
                size_t hit = 0;
                for (size_t i = 0; i < hd_log_nsecrets; i++) {
                        size_t l = strlen(hd_log_secrets[i]);
                        if (!strncmp(p, hd_log_secrets[i], l)) {
                                hit = l;
                                break;
                        }
                }
                if (hit) {
                        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "[redacted]");
                        p += hit;
                } else {
                        tmp[n++] = *p++;
                }
        }
        tmp[n] = '\0';
        for (const char *p = tmp; *p; p++)
                if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
                        quote = 1;
        if (quote && off < size)
                buf[off++] = '"';
        for (const char *p = tmp; *p && off + 4 < size; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\') {
                        buf[off++] = '\\';
                        buf[off++] = (char)c;
                } else if (c == '\n') {
                        buf[off++] = '\\';
                        buf[off++] = 'n';
                } else if (c < 0x20) {
                        off += (size_t)snprintf(buf + off, size - off, "\\x%02x", c);
                } else {
                        buf[off++] = (char)c;
                }
        }
        if (quote && off < size)
                buf[off++] = '"';
        if (off >= size)
                off = size - 1;
        buf[off] = '\0';
        return off;
}

size_t hd_log_format(char *buf, size_t size, int64_t ts_ms, hd_log_level_t level,
                     const char *comp, const char *msg, const char *const *kv, size_t nkv)
{
        struct tm tm;
        time_t t = (time_t)(ts_ms / 1000);
        size_t off;

        gmtime_r(&t, &tm);
        off = (size_t)snprintf(buf, size,
                               "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s comp=",
                               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                               tm.tm_min, tm.tm_sec, (int)(ts_ms % 1000),
                               hd_level_names[level]);
        if (off >= size)
                return size - 1;
        off = hd_log_put_value(buf, size, off, comp ? comp : "herald");
        off += (size_t)snprintf(buf + off, size - off, " msg=");
        if (off >= size)
                return size - 1;
        off = hd_log_put_value(buf, size, off, msg ? msg : "");
        for (size_t i = 0; i + 1 < nkv + 1 && i < nkv; i += 2) {
                const char *k = kv[i], *v = kv[i + 1] ? kv[i + 1] : "";
                off += (size_t)snprintf(buf + off, size - off, " %s=", k);
                if (off >= size)
                        return size - 1;
                off = hd_log_put_value(buf, size, off,
                                       hd_log_key_is_secret(k) ? "[redacted]" : v);
        }
        return off;
}

static void hd_log_emit(hd_log_level_t level, const char *comp, const char *msg,
                        const char *const *kv, size_t nkv)
{
        char line[HD_LOG_LINE_MAX];

        pthread_mutex_lock(&hd_log_lock);
        hd_log_format(line, sizeof(line), hd_now_ms(), level, comp, msg, kv, nkv);
        fprintf(stderr, "%s\n", line);
        pthread_mutex_unlock(&hd_log_lock);
}

void hd_logkv(hd_log_level_t level, const char *comp, const char *msg, ...)
{
        const char *kv[32];
        size_t nkv = 0;
        va_list ap;

        if (level < hd_log_level || level >= HD_LOG_OFF)
                return;
        va_start(ap, msg);
        for (;;) {
                const char *k = va_arg(ap, const char *);
                if (!k || nkv + 2 > HD_ARRAY_SIZE(kv))
                        break;
                kv[nkv++] = k;
                kv[nkv++] = va_arg(ap, const char *);
        }
        va_end(ap);
        hd_log_emit(level, comp, msg, kv, nkv);
}

void hd_logf(hd_log_level_t level, const char *comp, const char *fmt, ...)
{
        char *msg = NULL;
        va_list ap;
        int n;

        if (level < hd_log_level || level >= HD_LOG_OFF)
                return;
        /* Formatted whole, so secrets are scrubbed before any cut: a secret split by
         * a fixed-size buffer would no longer be recognised. */
        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        hd_log_emit(level, comp, msg, NULL, 0);
        free(msg);
}
