/*
 * hd_mail_smtp: sends built messages (hd_mail_msg) through SMTP profiles with
 * libcurl, and reuses connections.
 *
 * One hd_mail_smtp_t per process, shared by every worker thread. Each profile
 * has a pool of at most max_connections curl easy handles; a send borrows one
 * (waiting while all are busy), so connections stay open between messages and
 * are reused by whichever thread sends next, and a profile never has more than
 * max_connections connections open, however many threads send. (A handle per
 * thread would hold connections idle in threads that send elsewhere, and with
 * more threads than max_connections, would block forever or exceed the limit.)
 *
 * A pooled handle keeps the options that never change (set once when it is
 * created); a send sets only the message's. The profile names the server: proxy
 * environment variables (all_proxy, smtp_proxy …) are not used.
 *
 * TLS: "starttls" = smtp:// with STARTTLS required (CURLUSESSL_ALL), "implicit"
 * = smtps://, "none" = plain. Certificates are always verified. Credentials go
 * through CURLOPT_USERNAME/PASSWORD and are never logged or copied into results.
 *
 * Outcomes (hd_outcome_t):
 *   DELIVERED  the server took the message for every recipient, or for some of
 *              them (partial: the refused ones are listed in the result and not
 *              retried, since a retry would send the message again to the
 *              recipients who already have it)
 *   RETRY      4xx replies, every recipient refused with at least one 4xx,
 *              authentication refused (the profile, not the message, is wrong),
 *              network errors, timeouts, TLS failures, all connections busy
 *   DEAD       5xx replies to MAIL FROM, DATA or the message, every recipient
 *              refused with 5xx
 */
#ifndef HD_MAIL_SMTP_H
#define HD_MAIL_SMTP_H

#include <stddef.h>

#include "hd_config.h"
#include "hd_mail_msg.h"
#include "hd_retry.h"

typedef struct hd_mail_smtp_opts {
        const char *ca_file;     /* CA bundle to verify servers with (dev/test); NULL: system */
        long connect_timeout_ms; /* TCP + TLS + greeting; 0: 10 s */
        long timeout_ms;         /* one whole send, waiting for a connection included; 0: 60 s */
} hd_mail_smtp_opts_t;

typedef struct hd_mail_smtp hd_mail_smtp_t;

typedef struct hd_mail_result {
        hd_outcome_t outcome;
        int smtp_code;           /* the last SMTP reply that decided it; 0: none */
        char smtp_text[256];     /* its text ("5.1.1 no such user"), one line */
        char detail[512];        /* one line for logs and the DLQ reason */
        size_t naccepted;        /* recipients the server accepted */
        size_t nrefused;         /* recipients it refused */
        char refused[1024];      /* "a@x.example (550 no such user), …", truncated with "…" */
        int reused;              /* 1 when an already open connection carried it */
} hd_mail_result_t;

/*
 * profiles (borrowed: they must outlive the sender, e.g. the loaded config) and
 * options (copied). NULL with errstr when libcurl lacks SMTP or TLS support.
 */
hd_mail_smtp_t *hd_mail_smtp_new(const hd_smtp_profile_t *profiles, size_t nprofiles,
                                 const hd_mail_smtp_opts_t *opts, char *errstr,
                                 size_t errstr_size);

/* Closes every connection (QUIT). No send may be running. */
void hd_mail_smtp_destroy(hd_mail_smtp_t *s);

/*
 * Sends m through the profile named profile; fills *res and returns its outcome.
 * Thread-safe; blocks for at most opts.timeout_ms (+ the connect timeout). An
 * unknown profile is DEAD.
 */
hd_outcome_t hd_mail_smtp_send(hd_mail_smtp_t *s, const char *profile, const hd_mail_msg_t *m,
                               hd_mail_result_t *res);

/* Connections opened so far for profile (for tests and metrics); -1: no such profile. */
long hd_mail_smtp_connects(hd_mail_smtp_t *s, const char *profile);

#endif
