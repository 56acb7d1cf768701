/*
 * herald-dev: `herald dev [--config FILE] [--state-dir DIR] [--no-registry]`.
 * Starts the embedded stack, writes DIR/env and DIR/herald.conf, prints
 * "herald dev: ready" and stays in the foreground until SIGINT/SIGTERM.
 */
#include "hd_dev.h"
#include "hd_devcert.h"
#include "hd_log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char hd_dev_usage[] =
        "usage: herald dev [--config FILE] [--state-dir DIR] [--no-registry]\n"
        "\n"
        "Runs herald's embedded development stack in the foreground:\n"
        "  - librdkafka's mock Kafka cluster (dev.brokers brokers, default 3) on\n"
        "    ephemeral 127.0.0.1 ports, with herald's topics created;\n"
        "  - herald-registry (Confluent-compatible) storing schemas in _schemas,\n"
        "    with the event catalogue registered (skipped with --no-registry).\n"
        "Writes DIR/env (HERALD_BOOTSTRAP=..., HERALD_REGISTRY_URL=...) and\n"
        "DIR/herald.conf (a config pointing at this stack) and, once, DIR/tls/ (a local\n"
        "CA and a certificate for localhost and *.dev.test), prints\n"
        "\"herald dev: ready\", and stops cleanly on SIGINT/SIGTERM (exit 0).\n"
        "DIR defaults to dev.state_dir (.state/dev).\n"
        "\n"
        "THE MOCK CLUSTER IS NOT STORAGE. Limits of librdkafka 2.0.2's mock:\n"
        "  - everything is in memory and gone when herald dev stops;\n"
        "  - at most ~100k message sets / 5 MiB are kept per partition;\n"
        "  - ListOffsets by timestamp returns -1 (not implemented);\n"
        "  - after the first group formation every join/leave waits\n"
        "    session.timeout.ms - 1000 ms (dev configs use session.timeout.ms=6000);\n"
        "  - a commit without a member id for a group that once had members is\n"
        "    refused (UNKNOWN_MEMBER_ID);\n"
        "  - no admin APIs (CreateTopics, DescribeGroups, ListGroups): topics exist\n"
        "    because herald dev creates them.\n"
        "Use a real Kafka cluster for anything that must survive a restart.\n";

static int hd_mkdir_p(const char *path)
{
        char buf[1024];

        hd_strlcpy(buf, path, sizeof(buf));
        for (char *p = buf + 1; *p; p++) {
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, 0755) && errno != EEXIST)
                                return -1;
                        *p = '/';
                }
        }
        return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

/* Writes via a temp file + rename so readers never see half a file. */
static int hd_write_atomic(const char *path, const char *text, char *errstr,
                           size_t errstr_size)
{
        char tmp[1100];
        FILE *fp;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (!(fp = fopen(tmp, "w")))
                return hd_seterr(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
        fputs(text, fp);
        if (fclose(fp) || rename(tmp, path))
                return hd_seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return 0;
}

static int hd_dev_write_state(const hd_dev_t *dev, const char *dir, char *errstr,
                              size_t errstr_size)
{
        char path[1024], text[2048];

        /* The dev SMTP profiles point at a local sink on 2525 (the quick start runs one). */
        snprintf(text, sizeof(text),
                 "# herald dev config for this run (regenerated)\n"
                 "kafka = { bootstrap_servers = \"%s\"; };\n%s%s%s"
                 "email = { profiles = (\n"
                 "  { name = \"dev\"; host = \"127.0.0.1\"; port = 2525; tls = \"none\";\n"
                 "    from_name = \"herald dev\"; from_address = \"herald@dev.test\"; },\n"
                 "  { name = \"dev-alerts\"; host = \"127.0.0.1\"; port = 2525; tls = \"none\";\n"
                 "    from_name = \"herald alerts\"; from_address = \"alerts@dev.test\"; } ); };\n",
                 dev->bootstrap, dev->registry_url[0] ? "registry = { urls = [ \"" : "",
                 dev->registry_url, dev->registry_url[0] ? "\" ]; };\n" : "");
        snprintf(path, sizeof(path), "%s/herald.conf", dir);
        if (hd_write_atomic(path, text, errstr, errstr_size))
                return -1;
        snprintf(text, sizeof(text),
                 "HERALD_BOOTSTRAP=%s\nHERALD_REGISTRY_URL=%s\n"
                 "HERALD_DEV_CA=%s/tls/ca.pem\nHERALD_DEV_CERT=%s/tls/server.pem\n"
                 "HERALD_DEV_KEY=%s/tls/server-key.pem\n",
                 dev->bootstrap, dev->registry_url, dir, dir, dir);
        snprintf(path, sizeof(path), "%s/env", dir);
        return hd_write_atomic(path, text, errstr, errstr_size);
}

/* Blocks until SIGINT/SIGTERM; returns 1 if the registry child died instead. */
static int hd_dev_wait(hd_dev_t *dev, const sigset_t *set)
{
        for (;;) {
                int sig = sigwaitinfo(set, NULL), status;
                if (sig == SIGINT || sig == SIGTERM)
                        return 0;
                if (sig == SIGCHLD && dev->registry_pid > 0 &&
                    waitpid(dev->registry_pid, &status, WNOHANG) == dev->registry_pid) {
                        dev->registry_pid = 0;
                        hd_error("dev", "herald-registry exited unexpectedly");
                        return 1;
                }
        }
}

static int hd_dev_run(hd_dev_t *dev, const char *dir, int no_registry, const sigset_t *set)
{
        char err[HD_ERRSTR_SIZE] = "";
        int rc;

        char tls[1100];

        /* A local CA and a certificate for the dev hostnames, made once. */
        snprintf(tls, sizeof(tls), "%s/tls", dir);
        if (hd_mkdir_p(tls) || hd_devcert_ensure(tls, err, sizeof(err))) {
                fprintf(stderr, "herald dev: %s\n", err[0] ? err : tls);
                return 1;
        }
        if (hd_dev_cluster_start(dev, err, sizeof(err)) ||
            hd_dev_cluster_check(dev, err, sizeof(err)) ||
            (!no_registry && (hd_dev_registry_start(dev, err, sizeof(err)) ||
                              hd_dev_registry_register_catalogue(dev, err, sizeof(err)))) ||
            hd_dev_write_state(dev, dir, err, sizeof(err))) {
                fprintf(stderr, "herald dev: %s\n", err);
                return 1;
        }
        printf("HERALD_BOOTSTRAP=%s\nHERALD_REGISTRY_URL=%s\nherald dev: ready (state in "
               "%s/env)\n",
               dev->bootstrap, dev->registry_url, dir);
        fflush(stdout);
        rc = hd_dev_wait(dev, set);
        hd_info("dev", "stopping");
        return rc;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"config", 1, NULL, 'c'},
                                             {"state-dir", 1, NULL, 's'},
                                             {"no-registry", 0, NULL, 'n'},
                                             {"help", 0, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *config = NULL, *dir = NULL;
        int no_registry = 0, c, rc;
        char err[HD_ERRSTR_SIZE], envpath[1100];
        hd_dev_t dev = {.registry_out = -1};
        hd_config_t *cfg;
        sigset_t set;

        while ((c = getopt_long(argc, argv, "c:s:nh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; break;
                case 's': dir = optarg; break;
                case 'n': no_registry = 1; break;
                case 'h': fputs(hd_dev_usage, stdout); return 0;
                default: fputs(hd_dev_usage, stderr); return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "herald dev: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }
        /* The dev stack is self-contained: ignore env overrides meant for clients. */
        unsetenv("HERALD_BOOTSTRAP");
        unsetenv("HERALD_REGISTRY_URL");
        if (!(cfg = hd_config_load(config, err, sizeof(err)))) {
                fprintf(stderr, "herald dev: %s\n", err);
                return 2;
        }
        hd_log_set_level(cfg->log_level);
        dir = dir ? dir : cfg->dev.state_dir;
        if (hd_mkdir_p(dir)) {
                fprintf(stderr, "herald dev: %s: %s\n", dir, strerror(errno));
                hd_config_destroy(cfg);
                return 1;
        }
        /* Block the signals before librdkafka starts threads, so they inherit it. */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        dev.cfg = cfg;
        rc = hd_dev_run(&dev, dir, no_registry, &set);
        hd_dev_registry_stop(&dev);
        hd_dev_cluster_stop(&dev);
        snprintf(envpath, sizeof(envpath), "%s/env", dir);
        unlink(envpath); /* a stopped stack must not leave a live-looking address */
        hd_config_destroy(cfg);
        hd_log_clear_secrets();
        return rc;
}
