/*
 * hd_log: leveled logfmt logging to stderr with secret redaction.
 *
 * Lines look like
 *   ts=2026-11-27T00:30:00.123Z level=info comp=registry msg="listening" addr=127.0.0.1:8081
 * Values of keys that name a secret (password, secret, token, authorization, auth,
 * sasl.password, ssl.key.password, ...) are written as "[redacted]", and any string
 * registered with hd_log_add_secret() is replaced by "[redacted]" wherever it
 * appears, so a secret that leaks into an error message still never reaches a log.
 */
#ifndef HD_LOG_H
#define HD_LOG_H

#include "hd_util.h"

typedef enum {
        HD_LOG_DEBUG = 0,
        HD_LOG_INFO,
        HD_LOG_WARN,
        HD_LOG_ERROR,
        HD_LOG_OFF,
} hd_log_level_t;

void hd_log_set_level(hd_log_level_t level);
hd_log_level_t hd_log_get_level(void);
/* Parses "debug|info|warn|error|off"; -1 when unknown. */
int hd_log_level_parse(const char *name);

/* Registers a secret value to scrub from every log line (copied; ignored if < 4 chars). */
void hd_log_add_secret(const char *secret);
/* Frees the registered secrets (tests call it so LeakSanitizer stays quiet). */
void hd_log_clear_secrets(void);

/* True when the key names a secret and its value must not be logged. */
int hd_log_key_is_secret(const char *key);

/* Logs msg with key/value pairs: NULL-terminated list of const char *key, const char *value. */
void hd_logkv(hd_log_level_t level, const char *comp, const char *msg, ...);

/* printf-style message, no extra pairs. */
void hd_logf(hd_log_level_t level, const char *comp, const char *fmt, ...) HD_PRINTF(3, 4);

#define hd_debug(comp, ...) hd_logf(HD_LOG_DEBUG, comp, __VA_ARGS__)
#define hd_info(comp, ...)  hd_logf(HD_LOG_INFO, comp, __VA_ARGS__)
#define hd_warn(comp, ...)  hd_logf(HD_LOG_WARN, comp, __VA_ARGS__)
#define hd_error(comp, ...) hd_logf(HD_LOG_ERROR, comp, __VA_ARGS__)

/* Formats one logfmt line into buf (no newline); exposed for tests. */
size_t hd_log_format(char *buf, size_t size, int64_t ts_ms, hd_log_level_t level,
                     const char *comp, const char *msg, const char *const *kv, size_t nkv);

#endif
