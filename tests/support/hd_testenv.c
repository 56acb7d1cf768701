/* hd_testenv: see hd_testenv.h. */
#include "hd_testenv.h"
#include "hd_test.h"
#include "hd_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int hd_testenv_outfd = -1;

/* Reads STATE/env (KEY=VALUE lines) into env and this process's environment. */
static int hd_testenv_read_env(hd_testenv_t *env)
{
        char path[600], *text, *save = NULL, err[HD_ERRSTR_SIZE];

        snprintf(path, sizeof(path), "%s/env", env->state_dir);
        if (!(text = hd_read_file(path, 65536, NULL, err, sizeof(err)))) {
                fprintf(stderr, "testenv: %s\n", err);
                return -1;
        }
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(l, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                if (!strcmp(l, "HERALD_BOOTSTRAP"))
                        hd_strlcpy(env->bootstrap, eq + 1, sizeof(env->bootstrap));
                else if (!strcmp(l, "HERALD_REGISTRY_URL"))
                        hd_strlcpy(env->registry_url, eq + 1, sizeof(env->registry_url));
                setenv(l, eq + 1, 1);
        }
        free(text);
        snprintf(env->config_path, sizeof(env->config_path), "%s/herald.conf",
                 env->state_dir);
        return env->bootstrap[0] ? 0 : -1;
}

/* Waits for the readiness line on fd; echoes herald-dev's output to stderr. */
static int hd_testenv_wait_ready(int fd, int timeout_ms)
{
        char buf[4096];
        size_t len = 0;
        int64_t deadline = hd_mono_us() + (int64_t)timeout_ms * 1000;

        while (hd_mono_us() < deadline) {
                struct pollfd pfd = {fd, POLLIN, 0};
                int left = (int)((deadline - hd_mono_us()) / 1000);
                ssize_t n;

                if (poll(&pfd, 1, left > 0 ? left : 0) <= 0)
                        continue;
                n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n <= 0)
                        return -1; /* herald-dev exited */
                len += (size_t)n;
                buf[len] = '\0';
                if (strstr(buf, "herald dev: ready"))
                        return 0;
                if (len > sizeof(buf) / 2) { /* keep the tail only */
                        memmove(buf, buf + len - 64, 64);
                        len = 64;
                }
        }
        return -1;
}

int hd_testenv_start(hd_testenv_t *env, int flags)
{
        int pfd[2];
        const char *bin = hd_test_bin("herald-dev");

        memset(env, 0, sizeof(*env));
        snprintf(env->state_dir, sizeof(env->state_dir), "%s/dev-%d", hd_test_tmpdir(),
                 (int)getpid());
        if (pipe(pfd))
                return -1;
        env->pid = fork();
        if (env->pid < 0)
                return -1;
        if (env->pid == 0) {
                dup2(pfd[1], 1);
                close(pfd[0]);
                close(pfd[1]);
                if (flags & HD_TESTENV_NO_REGISTRY)
                        execl(bin, bin, "--state-dir", env->state_dir, "--no-registry",
                              (char *)NULL);
                else
                        execl(bin, bin, "--state-dir", env->state_dir, (char *)NULL);
                fprintf(stderr, "testenv: exec %s: %s\n", bin, strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        hd_testenv_outfd = pfd[0];
        if (hd_testenv_wait_ready(pfd[0], 60000) || hd_testenv_read_env(env)) {
                fprintf(stderr, "testenv: herald-dev did not become ready\n");
                hd_testenv_stop(env);
                return -1;
        }
        return 0;
}

int hd_testenv_stop(hd_testenv_t *env)
{
        int status = 0;

        if (env->pid <= 0)
                return -1;
        kill(env->pid, SIGTERM);
        while (waitpid(env->pid, &status, 0) < 0 && errno == EINTR)
                ;
        env->pid = 0;
        if (hd_testenv_outfd >= 0) {
                close(hd_testenv_outfd);
                hd_testenv_outfd = -1;
        }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}
