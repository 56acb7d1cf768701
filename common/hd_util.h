/*
 * hd_util: small helpers every module shares: the error-buffer convention,
 * monotonic/wall clocks, bounded string copies and whole-file reads.
 *
 * Convention (as in librdkafka): a function that can fail takes
 * `char *errstr, size_t errstr_size` last, returns 0 / a pointer on success and
 * -1 / NULL on failure with a one-line message (no trailing newline) in errstr.
 */
#ifndef HD_UTIL_H
#define HD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define HD_ERRSTR_SIZE 512

#if defined(__GNUC__)
#define HD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HD_PRINTF(f, a)
#endif

#define HD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Writes a formatted message into errstr (if non-NULL) and returns -1. */
int hd_seterr(char *errstr, size_t errstr_size, const char *fmt, ...) HD_PRINTF(3, 4);

/* Prefixes an existing message in place: "prefix: old message". */
void hd_preperr(char *errstr, size_t errstr_size, const char *fmt, ...) HD_PRINTF(3, 4);

/* strlcpy semantics: always NUL-terminates, returns strlen(src). */
size_t hd_strlcpy(char *dst, const char *src, size_t size);

int64_t hd_now_ms(void);      /* wall clock, epoch milliseconds */
int64_t hd_mono_us(void);     /* monotonic clock, microseconds */

/* Reads a whole file (at most max_size bytes) into a NUL-terminated heap buffer. */
char *hd_read_file(const char *path, size_t max_size, size_t *lenp, char *errstr,
                   size_t errstr_size);

/* Duplicates, aborting on out-of-memory (the only sane reaction in a daemon). */
void *hd_malloc(size_t size);
void *hd_calloc(size_t n, size_t size);
void *hd_realloc(void *p, size_t size);
char *hd_strdup(const char *s);
char *hd_strndup(const char *s, size_t n);

#endif
