/*
 * herald: the front command. `herald SUB ARGS...` runs `herald-SUB ARGS...` (git
 * style), looked up first beside this executable, then on PATH, so every part of
 * the suite is its own small program in its own folder.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hd_self_dir(char *dir, size_t size)
{
        ssize_t n = readlink("/proc/self/exe", dir, size - 1);
        char *slash;

        if (n <= 0)
                return -1;
        dir[n] = '\0';
        slash = strrchr(dir, '/');
        if (!slash)
                return -1;
        *slash = '\0';
        return 0;
}

static void hd_usage(FILE *fp)
{
        char dir[PATH_MAX];
        DIR *d;
        struct dirent *de;

        fprintf(fp, "usage: herald <command> [args...]\n"
                    "       herald <command> --help\n\n"
                    "Runs herald-<command>. Commands installed beside this binary:\n");
        if (hd_self_dir(dir, sizeof(dir)) || !(d = opendir(dir)))
                return;
        while ((de = readdir(d))) {
                if (!strncmp(de->d_name, "herald-", 7) && de->d_name[7])
                        fprintf(fp, "  %s\n", de->d_name + 7);
        }
        closedir(d);
}

int main(int argc, char **argv)
{
        char dir[PATH_MAX], path[PATH_MAX + 64], name[128];

        if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
            !strcmp(argv[1], "help")) {
                hd_usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (strchr(argv[1], '/') || strlen(argv[1]) > 64) {
                fprintf(stderr, "herald: invalid command name \"%s\"\n", argv[1]);
                return 2;
        }
        snprintf(name, sizeof(name), "herald-%s", argv[1]);
        argv[1] = name;
        if (!hd_self_dir(dir, sizeof(dir))) {
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                if (access(path, X_OK) == 0) {
                        execv(path, argv + 1);
                        fprintf(stderr, "herald: %s: %s\n", path, strerror(errno));
                        return 127;
                }
        }
        execvp(name, argv + 1);
        fprintf(stderr, "herald: '%s' is not a herald command (no %s: %s); see herald --help\n",
                argv[1] + 7, name, strerror(errno));
        return 127;
}
