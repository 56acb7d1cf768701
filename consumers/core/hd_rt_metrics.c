/* hd_rt_metrics: see hd_rt_metrics.h. */
#include "hd_rt_metrics.h"
#include "hd_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double hd_lat_le[HD_RT_LAT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,  1,     2.5,  10};

void hd_rt_metrics_latency(hd_rt_metrics_t *m, double s)
{
        pthread_mutex_lock(&m->lock);
        m->lat_count++;
        m->lat_sum += s;
        for (int i = 0; i < HD_RT_LAT_BUCKETS; i++)
                if (s <= hd_lat_le[i])
                        m->lat_bucket[i]++;
        pthread_mutex_unlock(&m->lock);
}

typedef struct hd_text {
        char *p;
        size_t len, cap;
} hd_text_t;

static void hd_put(hd_text_t *t, const char *fmt, ...) HD_PRINTF(2, 3);

static void hd_put(hd_text_t *t, const char *fmt, ...)
{
        va_list ap;
        int n;

        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
                va_end(ap);
                if (n >= 0 && (size_t)n < t->cap - t->len)
                        break;
                t->cap = t->cap * 2 + (size_t)n + 64;
                t->p = hd_realloc(t->p, t->cap);
        }
        t->len += (size_t)n;
}

char *hd_rt_metrics_render(hd_rt_metrics_t *m)
{
        static const char *const cls[] = {"success", "retryable", "failed", "gone"};
        hd_rt_metrics_t c;
        hd_text_t t = {hd_malloc(4096), 0, 4096};
        long cum = 0;

        pthread_mutex_lock(&m->lock);
        memcpy(&c, m, sizeof(c));
        pthread_mutex_unlock(&m->lock);
        hd_put(&t, "# HELP herald_deliveries_total Deliveries that reached a final state.\n"
                   "# TYPE herald_deliveries_total counter\n"
                   "herald_deliveries_total{result=\"delivered\"} %ld\n"
                   "herald_deliveries_total{result=\"dead_lettered\"} %ld\n"
                   "herald_deliveries_total{result=\"disabled\"} %ld\n",
               c.delivered, c.dead_lettered, c.disabled);
        hd_put(&t, "# HELP herald_delivery_attempts_total HTTP attempts by outcome class.\n"
                   "# TYPE herald_delivery_attempts_total counter\n");
        for (int i = 0; i < 4; i++)
                hd_put(&t, "herald_delivery_attempts_total{class=\"%s\"} %ld\n", cls[i],
                       c.by_class[i]);
        hd_put(&t, "# TYPE herald_delivery_retries_total counter\n"
                   "herald_delivery_retries_total %ld\n"
                   "# TYPE herald_dlq_writes_total counter\nherald_dlq_writes_total %ld\n"
                   "# TYPE herald_targets_refused_total counter\nherald_targets_refused_total %ld\n"
                   "# TYPE herald_deliveries_in_flight gauge\nherald_deliveries_in_flight %ld\n"
                   "# TYPE herald_partitions_paused gauge\nherald_partitions_paused %ld\n",
               c.retries, c.dlq_writes, c.refused, c.in_flight, c.paused_partitions);
        hd_put(&t, "# HELP herald_delivery_latency_seconds Duration of one HTTP attempt.\n"
                   "# TYPE herald_delivery_latency_seconds histogram\n");
        for (int i = 0; i < HD_RT_LAT_BUCKETS; i++) {
                cum = c.lat_bucket[i];
                hd_put(&t, "herald_delivery_latency_seconds_bucket{le=\"%g\"} %ld\n", hd_lat_le[i],
                       cum);
        }
        hd_put(&t, "herald_delivery_latency_seconds_bucket{le=\"+Inf\"} %ld\n"
                   "herald_delivery_latency_seconds_sum %g\n"
                   "herald_delivery_latency_seconds_count %ld\n",
               c.lat_count, c.lat_sum, c.lat_count);
        hd_put(&t, "# HELP herald_consumer_lag Records behind the high watermark.\n"
                   "# TYPE herald_consumer_lag gauge\n");
        for (size_t i = 0; i < c.nlag; i++)
                hd_put(&t, "herald_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
                       c.lag[i].topic, (int)c.lag[i].partition, (long long)c.lag[i].lag);
        return t.p;
}

static enum MHD_Result hd_metrics_handler(void *cls, struct MHD_Connection *c, const char *url,
                                          const char *method, const char *version,
                                          const char *data, size_t *data_size, void **ctx)
{
        struct MHD_Response *r;
        enum MHD_Result ret;
        char *text;
        int ok = !strcmp(url, "/metrics") && !strcmp(method, "GET");

        (void)version, (void)data, (void)data_size, (void)ctx;
        text = ok ? hd_rt_metrics_render(cls) : hd_strdup("not found\n");
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
        ret = MHD_queue_response(c, ok ? 200 : 404, r);
        MHD_destroy_response(r);
        return ret;
}

int hd_rt_metrics_start(hd_rt_metrics_t *m, const char *listen, int *port, char *errstr,
                         size_t errstr_size)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        const char *colon = strrchr(listen, ':');
        const union MHD_DaemonInfo *info;
        char host[64];

        pthread_mutex_init(&m->lock, NULL);
        if (!*listen)
                return 0; /* disabled */
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
                return hd_seterr(errstr, errstr_size, "metrics listen \"%s\" is not HOST:PORT", listen);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        sa.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return hd_seterr(errstr, errstr_size, "metrics listen \"%s\": not an IPv4 address",
                                 listen);
        m->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL,
                                     hd_metrics_handler, m, MHD_OPTION_SOCK_ADDR,
                                     (struct sockaddr *)&sa, MHD_OPTION_END);
        if (!m->daemon)
                return hd_seterr(errstr, errstr_size, "cannot listen on %s for metrics", listen);
        info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
        *port = info ? info->port : 0;
        return 0;
}

void hd_rt_metrics_stop(hd_rt_metrics_t *m)
{
        if (m->daemon)
                MHD_stop_daemon(m->daemon);
        m->daemon = NULL;
        pthread_mutex_destroy(&m->lock);
}
