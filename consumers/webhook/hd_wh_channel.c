/* hd_wh_channel: see hd_wh_channel.h. */
#include "hd_wh_channel.h"
#include "hd_retry.h"
#include "hd_util.h"
#include "hd_log.h"
#include "hd_wh_aio.h"
#include "hd_wh_body.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *hd_wh_prepare(void *ctx, const json_t *event, const json_t *sub,
                           const char *msg_id, char *errstr, size_t errstr_size)
{
        (void)ctx, (void)msg_id;
        return hd_wh_body(event, sub, errstr, errstr_size);
}

/* A worker's own state: its connections and its signing keys. */
typedef struct hd_wh_worker {
        hd_wh_conn_t *conn;
        hd_webhook_keys_t *keys;
} hd_wh_worker_t;

static void hd_wh_worker_end(void *ctx, void *wstate)
{
        hd_wh_worker_t *ws = wstate;

        (void)ctx;
        if (!ws)
                return;
        hd_wh_conn_free(ws->conn);
        hd_webhook_keys_free(ws->keys);
        free(ws);
}

static hd_wh_worker_t *hd_wh_worker(hd_wh_channel_t *wc, void **wstate)
{
        hd_wh_worker_t *ws = *wstate;

        if (ws)
                return ws;
        ws = hd_calloc(1, sizeof(*ws));
        if (!(ws->conn = hd_wh_conn_new(&wc->target))) {
                free(ws);
                return NULL;
        }
        ws->keys = hd_webhook_keys_new();
        return *wstate = ws;
}

/* What an HTTP outcome means for the delivery. */
static void hd_wh_apply(const hd_wh_result_t *r, hd_rt_result_t *res)
{
        res->status = r->status;
        res->refused = r->refused;
        hd_strlcpy(res->error, r->error, sizeof(res->error));
        res->outcome = r->refused ? HD_OUTCOME_DEAD : hd_retry_classify_http(r->status);
        if (r->refused)
                hd_strlcpy(res->reason, r->reason[0] ? r->reason : "target_refused",
                           sizeof(res->reason));
        else if (res->outcome == HD_OUTCOME_DEAD)
                snprintf(res->reason, sizeof(res->reason), "http_%ld", r->status);
        else if (res->outcome == HD_OUTCOME_DISABLE)
                snprintf(res->error, sizeof(res->error), "410 Gone from the endpoint");
        if (r->retry_after[0])
                res->retry_after_ms = hd_retry_after_parse(r->retry_after, (int64_t)time(NULL));
}

static void hd_wh_attempt(void *ctx, void **wstate, const json_t *sub, const char *msg_id,
                          void *payload, hd_rt_result_t *res)
{
        hd_wh_worker_t *ws = hd_wh_worker(ctx, wstate);
        const json_t *wh = json_object_get(sub, "webhook");
        const char *body = payload;
        size_t len = strlen(body);
        char h[3][1024], err[256];
        const char *hdrs[3] = {h[0], h[1], h[2]};
        hd_wh_result_t r = {0};

        if (!ws) { /* a network-class failure: retried like one */
                res->outcome = HD_OUTCOME_RETRY;
                hd_strlcpy(res->error, "cannot make an HTTP client", sizeof(res->error));
                return;
        }
        /* A fresh timestamp and signature per attempt (DESIGN §7). */
        if (hd_wh_headers(ws->keys, sub, msg_id, (int64_t)time(NULL), body, len, h, err,
                          sizeof(err))) {
                res->refused = 1;
                res->outcome = HD_OUTCOME_DEAD;
                hd_strlcpy(res->reason, "signing_failed", sizeof(res->reason));
                hd_strlcpy(res->error, err, sizeof(res->error));
                return;
        }
        hd_wh_post(ws->conn, json_string_value(json_object_get(wh, "url")), body, len, hdrs, 3,
                   json_object_get(wh, "auth"), &r);
        hd_wh_apply(&r, res);
}

/* ---- the asynchronous path (hd_wh_aio), for HTTP/1.1 hosts ---- */

typedef struct hd_wh_ajob {
        hd_wh_aio_job_t j;       /* first: the engine hands this back */
        hd_rt_result_t *res;
} hd_wh_ajob_t;

static void hd_wh_aio_done(void *arg, hd_wh_aio_job_t *j, int declined, size_t queued)
{
        hd_wh_channel_t *wc = arg;
        hd_wh_ajob_t *aj = (hd_wh_ajob_t *)j;

        if (declined) {
                hd_rt_attempt_on_worker(wc->rt, j->token);
        } else {
                hd_wh_apply(&j->res, aj->res);
                hd_rt_attempt_done(wc->rt, j->token, queued);
        }
        free(aj);
}

static int hd_wh_attempt_async(void *ctx, hd_rt_t *rt, void *token, const json_t *sub,
                               const char *msg_id, void *payload, hd_rt_result_t *res)
{
        hd_wh_channel_t *wc = ctx;
        hd_wh_ajob_t *aj;
        char err[256];

        if (!wc->async || wc->async_stopped)
                return -1;
        if (!wc->aio) {
                wc->rt = rt;
                if (!(wc->aio = hd_wh_aio_new(&wc->target, (size_t)wc->workers, hd_wh_aio_done,
                                              wc, err, sizeof(err)))) {
                        hd_logkv(HD_LOG_WARN, "webhook", "no asynchronous HTTP: worker threads make "
                                 "every attempt", "error", err, NULL);
                        wc->async = 0;
                        return -1;
                }
        }
        aj = hd_calloc(1, sizeof(*aj));
        aj->j = (hd_wh_aio_job_t){.token = token, .sub = sub, .msg_id = msg_id, .body = payload,
                                  .len = strlen(payload)};
        aj->res = res;
        hd_wh_aio_submit(wc->aio, &aj->j);
        return 0;
}

static int hd_wh_loop_fd(void *ctx)
{
        hd_wh_channel_t *wc = ctx;

        return wc->aio ? hd_wh_aio_fd(wc->aio) : -1;
}

static int hd_wh_loop_run(void *ctx)
{
        hd_wh_channel_t *wc = ctx;

        return wc->aio ? hd_wh_aio_run(wc->aio) : 1000;
}

static void hd_wh_async_stop(void *ctx)
{
        hd_wh_channel_t *wc = ctx;

        wc->async_stopped = 1;
        hd_wh_aio_free(wc->aio);
        wc->aio = NULL;
}

static size_t hd_wh_max_in_flight(const json_t *sub)
{
        json_int_t n = json_integer_value(json_object_get(json_object_get(sub, "webhook"),
                                                          "max_in_flight"));
        return n > 0 ? (size_t)n : 0;
}

static double hd_wh_rate_limit(const json_t *sub)
{
        return (double)json_integer_value(json_object_get(json_object_get(sub, "webhook"),
                                                          "rate_limit_per_second"));
}

const hd_channel_t hd_wh_channel = {
        .name = "webhook",
        .prepare = hd_wh_prepare,
        .payload_free = free,
        .attempt = hd_wh_attempt,
        .worker_end = hd_wh_worker_end,
        .message_id = hd_wh_message_id,
        .max_in_flight = hd_wh_max_in_flight,
        .rate_limit = hd_wh_rate_limit,
        .attempt_async = hd_wh_attempt_async,
        .async_stop = hd_wh_async_stop,
        .loop_fd = hd_wh_loop_fd,
        .loop_run = hd_wh_loop_run,
};

int hd_wh_channel_init(hd_wh_channel_t *wc, const hd_config_t *c, char *errstr,
                       size_t errstr_size)
{
        memset(wc, 0, sizeof(*wc));
        for (size_t i = 0; i < c->webhook.allow_cidrs.n; i++) {
                if (wc->nallow == HD_ARRAY_SIZE(wc->allow))
                        return hd_seterr(errstr, errstr_size, "webhook.allow_cidrs: more than %zu",
                                         HD_ARRAY_SIZE(wc->allow));
                if (hd_cidr_parse(c->webhook.allow_cidrs.v[i], &wc->allow[wc->nallow++], errstr,
                                  errstr_size))
                        return -1;
        }
        wc->target = (hd_wh_target_opts_t){c->webhook.ca_file,
                                           (const char *const *)c->webhook.connect_to.v,
                                           c->webhook.connect_to.n, wc->allow, wc->nallow, 5000,
                                           15000};
        wc->async = c->webhook.async;
        wc->workers = c->webhook.workers;
        return 0;
}

void hd_wh_channel_rt_conf(const hd_config_t *c, hd_rt_conf_t *rc)
{
        *rc = (hd_rt_conf_t){c->webhook.group,          c->webhook.workers,
                             c->webhook.max_in_flight,  c->webhook.window,
                             c->webhook.retry_schedule, c->webhook.commit_interval_ms,
                             c->webhook.revoke_timeout_ms, c->webhook.metrics_listen};
}
