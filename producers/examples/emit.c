/*
 * emit.c: the smallest useful billing integration. Emits one
 * account.service.state_changed event and waits for the broker's acknowledgement.
 *
 *   cc emit.c $(pkg-config --cflags --libs herald) -o emit
 *   HERALD_CONFIG=/etc/herald/herald.conf ./emit A-42 "Acme Ltd" "Fibre 1G" active suspended
 */
#include <herald/herald.h>
#include <stdio.h>

static void on_delivery(const char *event_id, herald_err_t err, const char *errstr,
                        void *opaque)
{
        int *failed = opaque;

        if (err) {
                fprintf(stderr, "event %s failed: %s\n", event_id, errstr);
                *failed = 1;
        } else {
                printf("event %s delivered\n", event_id);
        }
}

int main(int argc, char **argv)
{
        herald_producer_t *p = NULL;
        herald_event_t *ev = NULL;
        char err[512];
        int failed = 0;

        if (argc != 6) {
                fprintf(stderr, "usage: %s ACCOUNT_ID ACCOUNT_NAME SERVICE_NAME FROM_STATE "
                                "TO_STATE\n", argv[0]);
                return 2;
        }
        if (herald_producer_new(NULL, &p, err, sizeof(err)) ||
            herald_event_new("account.service.state_changed", &ev, err, sizeof(err)) ||
            herald_event_set_string(ev, "account_id", argv[1], err, sizeof(err)) ||
            herald_event_set_string(ev, "data.account.name", argv[2], err, sizeof(err)) ||
            herald_event_set_string(ev, "data.service.id", "svc-1", err, sizeof(err)) ||
            herald_event_set_string(ev, "data.service.name", argv[3], err, sizeof(err)) ||
            herald_event_set_string(ev, "data.service.from_state", argv[4], err, sizeof(err)) ||
            herald_event_set_string(ev, "data.service.to_state", argv[5], err, sizeof(err)) ||
            herald_emit(p, ev, on_delivery, &failed, err, sizeof(err)) ||
            herald_flush(p, 10000, err, sizeof(err))) {
                fprintf(stderr, "herald: %s\n", err);
                failed = 1;
        }
        herald_event_destroy(ev);
        herald_producer_destroy(p);
        return failed;
}
