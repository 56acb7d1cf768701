/* hd_test_run: runs a child with its stdio captured (see hd_testenv.h). */
#include "hd_testenv.h"
#include "hd_test.h"
#include "hd_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct hd_capbuf {
        char *p;
        size_t len, cap;
} hd_capbuf_t;

static void hd_cap_append(hd_capbuf_t *b, const char *data, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->p = hd_realloc(b->p, b->cap);
        }
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void hd_child_exec(char *const argv[], int in[2], int out[2], int err[2])
{
        const char *path = strchr(argv[0], '/') ? argv[0] : hd_test_bin(argv[0]);

        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]),
                close(err[1]);
        execv(path, argv);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
}

int hd_test_run(char *const argv[], const char *stdin_text, char **out, char **err)
{
        int in[2], o[2], e[2], status;
        hd_capbuf_t bo = {0}, be = {0};
        size_t inoff = 0, inlen = stdin_text ? strlen(stdin_text) : 0;
        pid_t pid;

        if (pipe(in) || pipe(o) || pipe(e))
                return -1;
        signal(SIGPIPE, SIG_IGN);
        if ((pid = fork()) == 0)
                hd_child_exec(argv, in, o, e);
        close(in[0]), close(o[1]), close(e[1]);
        if (!inlen)
                close(in[1]), in[1] = -1;
        hd_cap_append(&bo, "", 0);
        hd_cap_append(&be, "", 0);
        while (o[0] >= 0 || e[0] >= 0) {
                struct pollfd p[3] = {{o[0], POLLIN, 0}, {e[0], POLLIN, 0},
                                      {in[1], POLLOUT, 0}};
                char buf[8192];
                if (poll(p, 3, -1) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &o[0] : &e[0];
                        ssize_t n;
                        if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(*fd, buf, sizeof(buf));
                        if (n <= 0)
                                close(*fd), *fd = -1;
                        else
                                hd_cap_append(i == 0 ? &bo : &be, buf, (size_t)n);
                }
                if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t n = write(in[1], stdin_text + inoff, inlen - inoff);
                        if (n > 0)
                                inoff += (size_t)n;
                        if (n <= 0 || inoff == inlen)
                                close(in[1]), in[1] = -1;
                }
        }
        if (in[1] >= 0)
                close(in[1]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (out)
                *out = bo.p;
        else
                free(bo.p);
        if (err)
                *err = be.p;
        else
                free(be.p);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t hd_test_spawn(char *const argv[], const char *ready_prefix, char *rest,
                    size_t rest_size, int timeout_ms)
{
        const char *path = strchr(argv[0], '/') ? argv[0] : hd_test_bin(argv[0]);
        int64_t deadline = hd_mono_us() + (int64_t)timeout_ms * 1000;
        char buf[4096];
        size_t len = 0;
        int fd[2];
        pid_t pid;

        if (pipe(fd))
                return -1;
        if ((pid = fork()) == 0) {
                dup2(fd[1], 1);
                close(fd[0]), close(fd[1]);
                execv(path, argv);
                fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
                _exit(127);
        }
        close(fd[1]);
        while (hd_mono_us() < deadline && len < sizeof(buf) - 1) {
                struct pollfd p = {fd[0], POLLIN, 0};
                char *line, *nl;
                ssize_t n;
                if (poll(&p, 1, 100) <= 0)
                        continue;
                if ((n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) <= 0)
                        break;
                len += (size_t)n;
                buf[len] = '\0';
                if ((line = strstr(buf, ready_prefix)) && (nl = strchr(line, '\n'))) {
                        *nl = '\0';
                        hd_strlcpy(rest, line + strlen(ready_prefix), rest_size);
                        /* Keep the pipe open in the child's favour: it may log more. */
                        return pid;
                }
        }
        close(fd[0]);
        hd_test_stop(pid, 1);
        return -1;
}

int hd_test_stop(pid_t pid, int hard)
{
        int status = 0;

        if (pid <= 0)
                return -1;
        kill(pid, hard ? SIGKILL : SIGTERM);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
