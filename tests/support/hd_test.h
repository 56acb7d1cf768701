/*
 * hd_test: the tiny assertion kit every C test uses. A failed check prints
 * file:line and the expression (and both values for the _EQ forms), counts the
 * failure and goes on; HD_TEST_MAIN's exit code is the number of failures.
 */
#ifndef HD_TEST_H
#define HD_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>

extern int hd_test_failures;
extern int hd_test_checks;

#define HD_CHECK(cond)                                                                 \
        do {                                                                           \
                hd_test_checks++;                                                      \
                if (!(cond)) {                                                         \
                        hd_test_failures++;                                            \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,         \
                                __LINE__, #cond);                                      \
                }                                                                      \
        } while (0)

#define HD_CHECK_MSG(cond, ...)                                                        \
        do {                                                                           \
                hd_test_checks++;                                                      \
                if (!(cond)) {                                                         \
                        hd_test_failures++;                                            \
                        fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,         \
                                __LINE__, #cond);                                      \
                        fprintf(stderr, __VA_ARGS__);                                  \
                        fputc('\n', stderr);                                           \
                }                                                                      \
        } while (0)

#define HD_CHECK_INT_EQ(a, b)                                                          \
        do {                                                                           \
                long long _a = (long long)(a), _b = (long long)(b);                    \
                hd_test_checks++;                                                      \
                if (_a != _b) {                                                        \
                        hd_test_failures++;                                            \
                        fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__,   \
                                __LINE__, #a, #b, _a, _b);                             \
                }                                                                      \
        } while (0)

#define HD_CHECK_STR_EQ(a, b)                                                          \
        do {                                                                           \
                const char *_a = (a), *_b = (b);                                       \
                hd_test_checks++;                                                      \
                if (!_a || !_b || strcmp(_a, _b)) {                                    \
                        hd_test_failures++;                                            \
                        fprintf(stderr, "%s:%d: %s == %s:\n  got:  \"%s\"\n  want: \"%s\"\n", \
                                __FILE__, __LINE__, #a, #b, _a ? _a : "(null)",        \
                                _b ? _b : "(null)");                                   \
                }                                                                      \
        } while (0)

/* Substring check: haystack contains needle. */
#define HD_CHECK_CONTAINS(hay, needle)                                                 \
        do {                                                                           \
                const char *_h = (hay), *_n = (needle);                                \
                hd_test_checks++;                                                      \
                if (!_h || !strstr(_h, _n)) {                                          \
                        hd_test_failures++;                                            \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n",     \
                                __FILE__, __LINE__, _h ? _h : "(null)", _n);           \
                }                                                                      \
        } while (0)

/* Returns the test exit status and prints a summary. */
int hd_test_finish(const char *name);

/* Scratch directory for this test ($HERALD_TEST_TMP, created), or a mkdtemp one. */
const char *hd_test_tmpdir(void);

/* Path of a built binary: $HERALD_BIN_DIR/name. Static buffer per call slot. */
const char *hd_test_bin(const char *name);

/* Path in the source tree: $HERALD_SOURCE_DIR/rel. */
const char *hd_test_src(const char *rel);

/*
 * Polls fn(arg) every 50 ms until it returns at least want or timeout_ms pass;
 * returns the last value. For conditions seen from outside (files a receiver
 * writes, records in a topic), never as a fixed sleep.
 */
int hd_test_wait_for(int (*fn)(void *), void *arg, int want, int timeout_ms);

/*
 * One plain HTTP request: method to base + path with body (NULL: none). Returns
 * the status (0: no answer); *out gets the answer body (malloc'd, never NULL).
 */
long hd_test_http(const char *base, const char *method, const char *path, const char *body,
                  char **out);

#endif
