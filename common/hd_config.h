/*
 * hd_config: the one herald.conf (libconfig) every program reads.
 *
 * Every setting is declared in a table in hd_config.c (path, type, range, default);
 * loading validates the whole file against it and fails with
 * "FILE:LINE: SETTING: problem" for unknown settings, wrong types, values out of
 * range and missing required settings. The `kafka` group is passed through to
 * librdkafka (names use '_' for '.', e.g. bootstrap_servers) and each property is
 * checked by librdkafka itself at load time. HERALD_BOOTSTRAP and
 * HERALD_REGISTRY_URL (comma-separated) override the file. A secret setting X can
 * instead be given as X_env (environment variable name) or X_file (path).
 */
#ifndef HD_CONFIG_H
#define HD_CONFIG_H

#include <stddef.h>
#include "hd_log.h"

typedef struct hd_strlist {
        char **v;
        size_t n;
} hd_strlist_t;

typedef struct hd_kv {
        char *name;  /* librdkafka property name, dotted */
        char *value;
        int line;
} hd_kv_t;

/* One SMTP account e-mail can be sent through (email.profiles). */
typedef struct hd_smtp_profile {
        char *name;
        char *host;
        int port;              /* default 25 */
        char *tls;             /* "starttls" (required), "implicit", "none" */
        char *from_name;       /* may be NULL */
        char *from_address;
        char *username;        /* may be NULL */
        char *password;        /* secret; password / password_env / password_file */
        int max_connections;   /* default 4 */
        int line;
} hd_smtp_profile_t;

typedef struct hd_config {
        char *path;                  /* file loaded, or "(defaults)" */
        hd_log_level_t log_level;    /* log.level */

        /* kafka { ... } passthrough, in file order; bootstrap.servers included. */
        hd_kv_t *kafka;
        size_t nkafka;
        char *bootstrap;             /* effective bootstrap (env > file), may be NULL */

        struct {
                char *ordered;        /* topics.ordered */
                char *unordered;      /* topics.unordered */
                char *subscriptions;  /* topics.subscriptions */
                char *schemas;        /* topics.schemas */
                int ordered_partitions;
                int unordered_partitions;
                int dlq_partitions;
        } topics;

        struct {
                hd_strlist_t urls;    /* registry.urls (env HERALD_REGISTRY_URL wins) */
                int timeout_ms;       /* registry.timeout_ms */
                char *username;       /* registry.username */
                char *password;       /* registry.password / _env / _file (secret) */
                char *ca_file;        /* registry.ca_file */
                int auto_register;    /* registry.auto_register */
        } registry;

        struct {
                char *listen;         /* registry_server.listen "HOST:PORT" (port 0 = any) */
                char *default_compatibility; /* registry_server.default_compatibility */
        } registry_server;

        struct {
                int max_message_bytes; /* serde.max_message_bytes */
        } serde;

        struct {
                /* Event-type patterns (exact or "prefix.*") overriding the catalogue's
                 * default ordering: producer.in_order / producer.out_of_order. */
                hd_strlist_t in_order;
                hd_strlist_t out_of_order;
        } producer;

        struct {
                char *group;          /* webhook.group: consumer group id */
                int workers;          /* webhook.workers: parallel HTTP attempts */
                int max_in_flight;    /* webhook.max_in_flight: deliveries at once, all subs */
                int window;           /* webhook.window: open records per partition before pause */
                int async;            /* webhook.async: HTTP/1.1 on one I/O thread */
                char *retry_schedule; /* webhook.retry_schedule: "0s,5s,5m,…" */
                int commit_interval_ms; /* webhook.commit_interval_ms */
                int revoke_timeout_ms;  /* webhook.revoke_timeout_ms: wait on rebalance */
                char *metrics_listen;   /* webhook.metrics_listen: Prometheus, "" = off */
                char *ca_file;        /* webhook.tls.ca_file: extra CA (dev/test) */
                hd_strlist_t connect_to; /* webhook.connect_to: curl CONNECT_TO (tests only) */
                hd_strlist_t allow_cidrs; /* webhook.allow_cidrs: SSRF allow-list (dev only) */
        } webhook;

        struct {
                char *group;          /* email.group */
                int workers;          /* email.workers: parallel SMTP sends */
                int max_in_flight;    /* email.max_in_flight: messages at once, all subs */
                int window;           /* email.window */
                char *retry_schedule; /* email.retry_schedule */
                int commit_interval_ms; /* email.commit_interval_ms */
                int revoke_timeout_ms;  /* email.revoke_timeout_ms */
                char *metrics_listen;   /* email.metrics_listen: Prometheus, "" = off */
                char *ca_file;        /* email.tls.ca_file: extra CA for SMTP TLS (dev/test) */
                hd_smtp_profile_t *profiles; /* email.profiles = ( { … }, … ) */
                size_t nprofiles;
        } email;

        struct {
                int brokers;          /* dev.brokers */
                char *state_dir;      /* dev.state_dir */
        } dev;
} hd_config_t;

/*
 * Loads and validates path. path NULL: $HERALD_CONFIG, else /etc/herald/herald.conf
 * when it exists, else built-in defaults. Environment overrides are applied.
 */
hd_config_t *hd_config_load(const char *path, char *errstr, size_t errstr_size);

/* Same, from a string (name is used in messages in place of the file name). */
hd_config_t *hd_config_load_string(const char *text, const char *name, char *errstr,
                                   size_t errstr_size);

void hd_config_destroy(hd_config_t *cfg);

/* The profile called name, or NULL. */
const hd_smtp_profile_t *hd_config_smtp_profile(const hd_config_t *cfg, const char *name);

/* DLQ topic name for a consumer group: "herald.<group>.dlq". Caller frees. */
char *hd_config_dlq_topic(const char *group);

#endif
