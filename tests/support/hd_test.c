/* hd_test: see hd_test.h. */
#include "hd_test.h"
#include "hd_util.h"

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
