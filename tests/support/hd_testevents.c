/* hd_testevents: see hd_testevents.h. */
#include "hd_testevents.h"

#include <stddef.h>

herald_event_t *hd_test_service_event(const char *acct, const char *name)
{
        static const char *const fields[][2] = {{"data.account.name", "Acme"},
                                                {"data.service.from_state", "a"},
                                                {"data.service.to_state", "b"}};
        herald_event_t *ev = NULL;
        char err[256];
        int bad = herald_event_new("account.service.state_changed", &ev, err, sizeof(err)) ||
                  herald_event_set_string(ev, "account_id", acct, err, sizeof(err)) ||
                  herald_event_set_string(ev, "data.service.id", name, err, sizeof(err)) ||
                  herald_event_set_string(ev, "data.service.name", name, err, sizeof(err));

        for (size_t i = 0; !bad && i < sizeof(fields) / sizeof(fields[0]); i++)
                bad = herald_event_set_string(ev, fields[i][0], fields[i][1], err, sizeof(err));
        if (bad) {
                herald_event_destroy(ev);
                return NULL;
        }
        return ev;
}
