/*
 * hd_testevents: the events integration tests produce, built once here so every
 * test means the same thing by "a service event".
 */
#ifndef HD_TESTEVENTS_H
#define HD_TESTEVENTS_H

#include "herald/herald.h"

#include <jansson.h>

/* account.service.state_changed for account acct, service id and name `name`
 * (account "Acme", state a -> b); NULL when it cannot be built. */
herald_event_t *hd_test_service_event(const char *acct, const char *name);

/*
 * Emits service events first..first+n-1 through producer p: event i is for account
 * acct_fmt % (i % nacc) and service name_fmt % i; ids[i] gets its event id
 * (malloc'd). Returns the number that failed to build or emit (not flushed).
 */
int hd_test_emit_services(herald_producer_t *p, int first, int n, const char *acct_fmt,
                          int nacc, const char *name_fmt, char **ids);

/* The lines `herald listen --out path` wrote for valid deliveries it answered 204,
 * in arrival order (repeats included); an empty array when there is no file yet. */
json_t *hd_test_rx_delivered(const char *path);

#endif
