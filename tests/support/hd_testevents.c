/* hd_testevents: see hd_testevents.h. */
#include "hd_testevents.h"

#include "hd_util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int hd_test_emit_services(herald_producer_t *p, int first, int n, const char *acct_fmt,
                          int nacc, const char *name_fmt, char **ids)
{
        char acct[64], name[64], err[256];
        int failed = 0;

        for (int i = first; i < first + n; i++) {
                herald_event_t *ev;
                snprintf(acct, sizeof(acct), acct_fmt, i % nacc);
                snprintf(name, sizeof(name), name_fmt, i);
                if (!(ev = hd_test_service_event(acct, name))) {
                        failed++;
                        continue;
                }
                ids[i] = hd_strdup(herald_event_id(ev));
                failed += herald_emit(p, ev, NULL, NULL, err, sizeof(err)) != HERALD_OK;
                herald_event_destroy(ev);
        }
        return failed;
}

json_t *hd_test_rx_delivered(const char *path)
{
        char err[256], *text = hd_read_file(path, 8 << 20, NULL, err, sizeof(err)), *save = NULL;
        json_t *arr = json_array();

        for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                json_t *j = json_loads(l, 0, NULL);
                if (j && json_is_true(json_object_get(j, "valid")) &&
                    json_integer_value(json_object_get(j, "status")) == 204)
                        json_array_append(arr, j);
                json_decref(j);
        }
        free(text);
        return arr;
}
