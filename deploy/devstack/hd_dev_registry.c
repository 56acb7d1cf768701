/* hd_dev_registry: herald-registry as a child of herald dev (see hd_dev.h). */
#include "hd_dev.h"
#include "hd_catalogue.h"
#include "hd_log.h"
#include "hd_registry.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define HD_READY_PREFIX "herald-registry: listening on "

/* herald-registry is looked up beside this executable (same build or install). */
static void hd_dev_sibling(const char *name, char *out, size_t size)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n > 0) {
                self[n] = '\0';
                if ((slash = strrchr(self, '/'))) {
                        *slash = '\0';
                        snprintf(out, size, "%s/%s", self, name);
                        return;
                }
        }
        hd_strlcpy(out, name, size);
}

/* Reads the child's stdout until its listening line; fills registry_url. */
static int hd_dev_registry_wait(hd_dev_t *dev, int timeout_ms)
{
        char buf[2048];
        size_t len = 0;
        int64_t deadline = hd_mono_us() + (int64_t)timeout_ms * 1000;

        while (hd_mono_us() < deadline && len < sizeof(buf) - 1) {
                struct pollfd pfd = {dev->registry_out, POLLIN, 0};
                char *line, *nl;
                ssize_t n;

                if (poll(&pfd, 1, 200) <= 0)
                        continue;
                if ((n = read(dev->registry_out, buf + len, sizeof(buf) - 1 - len)) <= 0)
                        return -1;
                len += (size_t)n;
                buf[len] = '\0';
                if ((line = strstr(buf, HD_READY_PREFIX)) && (nl = strchr(line, '\n'))) {
                        *nl = '\0';
                        hd_strlcpy(dev->registry_url, line + strlen(HD_READY_PREFIX),
                                   sizeof(dev->registry_url));
                        return 0;
                }
        }
        return -1;
}

int hd_dev_registry_start(hd_dev_t *dev, char *errstr, size_t errstr_size)
{
        char bin[PATH_MAX + 32];
        int pfd[2];
        pid_t parent;

        hd_dev_sibling("herald-registry", bin, sizeof(bin));
        if (pipe(pfd))
                return hd_seterr(errstr, errstr_size, "pipe: %s", strerror(errno));
        parent = getpid();
        dev->registry_pid = fork();
        if (dev->registry_pid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return hd_seterr(errstr, errstr_size, "fork: %s", strerror(errno));
        }
        if (dev->registry_pid == 0) {
                sigset_t none;
                /* If herald dev dies without stopping us (kill -9), do not linger
                 * holding a port: the kernel sends SIGTERM when the parent goes. */
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(1);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                dup2(pfd[1], 1);
                close(pfd[0]);
                close(pfd[1]);
                execl(bin, bin, "--listen", "127.0.0.1:0", "--bootstrap", dev->bootstrap,
                      "--topic", dev->cfg->topics.schemas, (char *)NULL);
                fprintf(stderr, "herald dev: exec %s: %s\n", bin, strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        dev->registry_out = pfd[0];
        if (hd_dev_registry_wait(dev, 30000))
                return hd_seterr(errstr, errstr_size,
                                 "herald-registry (%s) did not report listening within 30 s",
                                 bin);
        return 0;
}

/* Registers the envelope under both topics' value subjects (same schema, same id). */
int hd_dev_registry_register_catalogue(hd_dev_t *dev, char *errstr, size_t errstr_size)
{
        const char *url = dev->registry_url;
        hd_registry_opts_t opts = {.urls = &url, .nurls = 1, .timeout_ms = 10000};
        const char *topics[] = {dev->cfg->topics.ordered, dev->cfg->topics.unordered};
        hd_registry_t *reg = hd_registry_new(&opts, errstr, errstr_size);
        int r = 0;

        if (!reg)
                return -1;
        for (size_t i = 0; i < HD_ARRAY_SIZE(topics) && !r; i++) {
                char subject[300];
                int32_t id;
                snprintf(subject, sizeof(subject), "%s-value", topics[i]);
                r = hd_registry_register(reg, subject, hd_catalogue_schema_json(), &id,
                                         errstr, errstr_size);
                if (!r) {
                        char ids[16];
                        snprintf(ids, sizeof(ids), "%d", (int)id);
                        hd_logkv(HD_LOG_INFO, "dev", "catalogue registered", "subject",
                                 subject, "id", ids, NULL);
                }
        }
        hd_registry_destroy(reg);
        return r ? -1 : 0;
}

void hd_dev_registry_stop(hd_dev_t *dev)
{
        int status;

        if (dev->registry_pid > 0) {
                kill(dev->registry_pid, SIGTERM);
                while (waitpid(dev->registry_pid, &status, 0) < 0 && errno == EINTR)
                        ;
                dev->registry_pid = 0;
        }
        if (dev->registry_out > 0)
                close(dev->registry_out);
        dev->registry_out = -1;
}
