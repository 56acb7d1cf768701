/*
 * hd_rt_metrics: herald-webhookd's Prometheus text endpoint (GET /metrics).
 * The loop thread updates the numbers; the HTTP thread renders a copy taken under
 * the lock, so a scrape never touches delivery state.
 */
#ifndef HD_RT_METRICS_H
#define HD_RT_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define HD_RT_LAT_BUCKETS 10
#define HD_RT_MAX_LAG 128

typedef struct hd_rt_metrics {
        pthread_mutex_t lock;
        long delivered, dead_lettered, disabled, retries, dlq_writes, refused;
        long by_class[4];         /* attempts by outcome: 2xx, retryable, dead, 410 */
        long in_flight, paused_partitions;
        long lat_count;
        double lat_sum;
        long lat_bucket[HD_RT_LAT_BUCKETS];
        struct {
                char topic[128];
                int32_t partition;
                int64_t lag;
        } lag[HD_RT_MAX_LAG];
        size_t nlag;
        void *daemon;             /* struct MHD_Daemon */
} hd_rt_metrics_t;

int hd_rt_metrics_start(hd_rt_metrics_t *m, const char *listen, int *port, char *errstr,
                         size_t errstr_size);
void hd_rt_metrics_stop(hd_rt_metrics_t *m);
void hd_rt_metrics_latency(hd_rt_metrics_t *m, double seconds);
/* The text exposition (malloc'd). */
char *hd_rt_metrics_render(hd_rt_metrics_t *m);

#endif
