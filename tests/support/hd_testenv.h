/*
 * hd_testenv: starts a real `herald dev` stack (mock Kafka cluster + herald-registry)
 * for one test, on ephemeral loopback ports, and stops it. The caller waits on the
 * real readiness line ("herald dev: ready"), not on a sleep.
 */
#ifndef HD_TESTENV_H
#define HD_TESTENV_H

#include <sys/types.h>

typedef struct hd_testenv {
        pid_t pid;
        char state_dir[512];
        char bootstrap[512];     /* HERALD_BOOTSTRAP from STATE/env */
        char registry_url[512];  /* HERALD_REGISTRY_URL from STATE/env ("" with no registry) */
        char config_path[600];   /* STATE/herald.conf: a config pointing at this stack */
} hd_testenv_t;

/* Flags for hd_testenv_start. */
#define HD_TESTENV_NO_REGISTRY 0x1 /* herald dev --no-registry: Kafka only */

/*
 * Starts herald-dev with a state dir under the test tmpdir, waits up to 60 s for
 * readiness, and exports HERALD_BOOTSTRAP / HERALD_REGISTRY_URL into this process's
 * environment (so children inherit them). Returns 0 or -1 (message on stderr).
 */
int hd_testenv_start(hd_testenv_t *env, int flags);

/* SIGTERM, waits for exit; returns the exit status (0 = clean stop). */
int hd_testenv_stop(hd_testenv_t *env);

/*
 * Runs argv (argv[0] resolved via hd_test_bin when it has no '/'), waits, captures
 * stdout and stderr into malloc'd strings (may be NULL). Returns the exit status,
 * or 128+signal.
 */
int hd_test_run(char *const argv[], const char *stdin_text, char **out, char **err);

/*
 * Starts argv in the background (argv[0] resolved like hd_test_run) and waits up
 * to timeout_ms for a stdout line starting with ready_prefix; the rest of that line
 * goes to rest. Returns the pid, or -1 (child killed) when the line never came.
 * The child's stdout is drained by nobody afterwards: use for quiet daemons.
 */
pid_t hd_test_spawn(char *const argv[], const char *ready_prefix, char *rest,
                    size_t rest_size, int timeout_ms);

/* SIGTERM (or SIGKILL when hard), then waits; returns the exit status as hd_test_run. */
int hd_test_stop(pid_t pid, int hard);

#endif
