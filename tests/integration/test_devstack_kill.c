/* herald dev killed with SIGKILL must not leave its herald-registry child running. */
#include "hd_test.h"
#include "hd_testenv.h"
#include "hd_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Alive = exists and is not a zombie (PID 1 in a container may not reap it). */
static int alive(pid_t pid)
{
        char path[64], err[128], *stat, *close_paren;
        int live;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (!(stat = hd_read_file(path, 4096, NULL, err, sizeof(err))))
                return 0;
        close_paren = strrchr(stat, ')');
        live = close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' &&
               close_paren[2] != 'X';
        free(stat);
        return live;
}

int main(void)
{
        hd_testenv_t env;
        char path[128], err[128], *kids;
        pid_t reg = 0;
        int status;

        if (hd_testenv_start(&env, 0)) {
                HD_CHECK(!"dev stack started");
                return hd_test_finish("test_devstack_kill");
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)env.pid, (int)env.pid);
        kids = hd_read_file(path, 4096, NULL, err, sizeof(err));
        if (kids)
                reg = (pid_t)atoi(kids);
        free(kids);
        HD_CHECK_MSG(reg > 0 && alive(reg), "no herald-registry child found");
        kill(env.pid, SIGKILL);
        waitpid(env.pid, &status, 0);
        env.pid = 0;
        for (int i = 0; i < 200 && reg > 0 && alive(reg); i++)
                usleep(50000); /* waiting for a condition: the child's exit */
        HD_CHECK_MSG(reg <= 0 || !alive(reg), "herald-registry %d outlived a killed herald dev",
                     (int)reg);
        if (reg > 0 && alive(reg))
                kill(reg, SIGKILL);
        return hd_test_finish("test_devstack_kill");
}
