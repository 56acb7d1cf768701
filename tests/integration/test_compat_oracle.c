/*
 * herald's compatibility checker against python3-avro's
 * (avro.compatibility.ReaderWriterCompatibilityChecker, the Java rules Confluent
 * uses): test_compat_oracle.py judges every pair of python3-avro's own
 * compatibility test suite plus herald's pairs (tests/data/compat_pairs.json);
 * hd_compat_check must agree on every one, and say why when it refuses.
 */
#include "hd_compat.h"
#include "hd_test.h"
#include "hd_testenv.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

/* Debian's interpreter: python3-avro lives in its dist-packages. */
static const char *hd_python(void)
{
        return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static void check_line(const char *line, int *n, int *from_avro)
{
        json_t *j = json_loads(line, 0, NULL);
        char *r = json_dumps(json_object_get(j, "reader"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *w = json_dumps(json_object_get(j, "writer"), JSON_COMPACT | JSON_ENCODE_ANY);
        const char *src = json_string_value(json_object_get(j, "source"));
        int want = json_is_true(json_object_get(j, "compatible"));
        char msgs[4096];
        int got;

        HD_CHECK_MSG(j && r && w, "bad oracle line: %s", line);
        if (j && r && w) {
                got = hd_compat_check(r, w, msgs, sizeof(msgs));
                HD_CHECK_MSG(got == (want ? HD_COMPAT_OK : HD_COMPAT_INCOMPATIBLE),
                             "%s: python3-avro says %s, herald %d (%s)\n  reader %s\n  writer %s",
                             src, want ? "compatible" : "incompatible", got, msgs, r, w);
                if (got == HD_COMPAT_INCOMPATIBLE)
                        HD_CHECK_MSG(msgs[0] == '/' || strchr(msgs, ':'),
                                     "%s: no reason given: \"%s\"", src, msgs);
                (*n)++;
                if (src && strncmp(src, "herald: ", 8))
                        (*from_avro)++;
        }
        free(r);
        free(w);
        json_decref(j);
}

/* Runs the oracle (fallback: from the stored copy of the pairs) and checks each line. */
static void run_oracle(int fallback)
{
        char *argv[] = {(char *)hd_python(),
                        (char *)hd_test_src("tests/integration/test_compat_oracle.py"),
                        (char *)hd_test_src("tests/data/compat_pairs.json"), NULL};
        char *out = NULL, *err = NULL, *line, *save = NULL;
        int rc, n = 0, from_avro = 0;

        if (fallback)
                setenv("HERALD_ORACLE_FALLBACK", "1", 1);
        rc = hd_test_run(argv, NULL, &out, &err);
        unsetenv("HERALD_ORACLE_FALLBACK");
        HD_CHECK_MSG(rc == 0, "oracle failed (%d): %s (is python3-avro installed? "
                     "deploy/install-deps.sh installs it)", rc, err ? err : "");
        for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save))
                check_line(line, &n, &from_avro);
        /* The suite has 130 distinct pairs in 1.11.1; a few less would mean we lost some. */
        HD_CHECK_MSG(from_avro >= 100, "only %d pairs from python3-avro's own tests", from_avro);
        HD_CHECK_MSG(n >= from_avro + 30, "only %d pairs in all", n);
        printf("test_compat_oracle: %d pairs agree (%d from python3-avro's test suite%s)\n", n,
               from_avro, fallback ? ", stored copy" : "");
        free(out);
        free(err);
}

int main(void)
{
        run_oracle(0);
        run_oracle(1);
        return hd_test_finish("test_compat_oracle");
}
