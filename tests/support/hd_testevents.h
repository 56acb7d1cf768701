/*
 * hd_testevents: the events integration tests produce, built once here so every
 * test means the same thing by "a service event".
 */
#ifndef HD_TESTEVENTS_H
#define HD_TESTEVENTS_H

#include "herald/herald.h"

/* account.service.state_changed for account acct, service id and name `name`
 * (account "Acme", state a -> b); NULL when it cannot be built. */
herald_event_t *hd_test_service_event(const char *acct, const char *name);

#endif
