/*
 * hd_wh_aio: webhook attempts without a thread each. One I/O thread makes every
 * HTTP/1.1 attempt on non-blocking sockets under epoll: it signs the request,
 * takes a kept-alive connection to the same host, address and client
 * certificate (or opens one: connect, TLS handshake), writes the request, and
 * parses the answer as it arrives (hd_wh_h1_proto). A blocking worker per
 * in-flight attempt costs a thread wake-up for each answer and a hand-off of each
 * result; here a burst of answers costs one epoll_wait.
 *
 * Host names are resolved (and vetted by the SSRF guard) on a resolver thread
 * and reused for 60 s, so a slow DNS server holds up only the attempts to that
 * host. A host that chooses HTTP/2 in ALPN is declined from then on: the caller
 * makes those attempts the blocking way (libcurl). The same rules as
 * hd_wh_h1.c apply: verification always on, the vetted address only, connect and
 * total timeouts, bounded reading, a kept connection the server had closed tried
 * once more on a new one.
 */
#ifndef HD_WH_AIO_H
#define HD_WH_AIO_H

#include <jansson.h>
#include <stddef.h>

#include "hd_wh_http.h"

typedef struct hd_wh_aio hd_wh_aio_t;

typedef struct hd_wh_aio_job {
        void *token;             /* the caller's */
        const json_t *sub;       /* url, secrets, auth: read until the job is done */
        const char *msg_id;
        const char *body;
        size_t len;
        hd_wh_result_t res;      /* the outcome, when done */
} hd_wh_aio_job_t;

/* On the I/O thread, once per job: res is filled, or declined = 1 (nothing was
 * sent: the host speaks HTTP/2; make the attempt another way). queued: jobs
 * still waiting for a slot. */
typedef void hd_wh_aio_done_fn(void *arg, hd_wh_aio_job_t *job, int declined, size_t queued);

/* An engine for targets under o (kept by the caller, must outlive it); at most
 * max_running attempts (and so connections in use) at once, the others wait in
 * order. One thread drives it (hd_wh_aio_fd, hd_wh_aio_run) and is the only one to
 * submit; it starts a resolver thread of its own. NULL with errstr. */
hd_wh_aio_t *hd_wh_aio_new(const hd_wh_target_opts_t *o, size_t max_running,
                           hd_wh_aio_done_fn *done, void *arg, char *errstr, size_t errstr_size);

/* Readable when hd_wh_aio_run has work (socket events, resolver answers). */
int hd_wh_aio_fd(const hd_wh_aio_t *a);
/* Handles what is ready without blocking; the ms until the next deadline (at most
 * 1000). Jobs end (done callbacks) on this thread. */
int hd_wh_aio_run(hd_wh_aio_t *a);

/* Queues job (the driving thread: it may start, and even end, before this
 * returns); the job and what it points to stay valid until done. */
void hd_wh_aio_submit(hd_wh_aio_t *a, hd_wh_aio_job_t *job);

/* Ends every job still queued or running (each reported done with an error),
 * stops the threads, frees. */
void hd_wh_aio_free(hd_wh_aio_t *a);

#endif
