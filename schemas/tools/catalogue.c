/*
 * herald-catalogue: `herald catalogue [--markdown | --json | --sample | --schema]`.
 * Prints the event catalogue compiled into herald: the types with their default
 * ordering and tokens (a table, markdown for schemas/README.md, or JSON), a
 * sample event of every type as JSON lines, or the assembled envelope schema.
 */
#include "hd_catalogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hd_print_markdown(void)
{
        printf("| event type | ordering | account | action | data record | tokens |\n"
               "|---|---|---|---|---|---|\n");
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                printf("| `%s` | %s | %s | %s | `%s` |", t->name,
                       t->ordered_default ? "in order" : "out of order",
                       t->account_scoped ? "yes" : "no", t->action, t->record);
                for (size_t k = 0; k < t->ntokens; k++)
                        printf(" `%s`", t->tokens[k]);
                printf(" |\n");
        }
}

static void hd_print_json(void)
{
        json_t *arr = json_array();
        char *s;

        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                const hd_event_type_t *t = hd_catalogue_get(i);
                json_t *toks = json_array();
                for (size_t k = 0; k < t->ntokens; k++)
                        json_array_append_new(toks, json_string(t->tokens[k]));
                json_array_append_new(arr, json_pack("{s:s, s:b, s:b, s:s, s:s, s:s, s:o}",
                                                     "type", t->name, "ordered",
                                                     t->ordered_default, "account_scoped",
                                                     t->account_scoped, "action", t->action,
                                                     "entity", t->entity, "record",
                                                     t->record, "tokens", toks));
        }
        s = json_dumps(arr, JSON_INDENT(2));
        puts(s);
        free(s);
        json_decref(arr);
}

static void hd_print_samples(void)
{
        for (size_t i = 0; i < hd_catalogue_count(); i++) {
                json_t *ev = hd_catalogue_sample(hd_catalogue_get(i));
                char *s = json_dumps(ev, JSON_COMPACT);
                puts(s);
                free(s);
                json_decref(ev);
        }
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "";

        if (!strcmp(mode, "--help") || !strcmp(mode, "-h") || argc > 2) {
                printf("usage: herald catalogue [--markdown | --json | --sample | --schema]\n"
                       "Lists the event types compiled into herald, their default ordering\n"
                       "and the tokens each offers; --sample prints one sample event per type\n"
                       "(JSON lines), --schema the assembled envelope schema.\n");
                return argc > 2 ? 2 : 0;
        }
        if (!strcmp(mode, "--markdown"))
                hd_print_markdown();
        else if (!strcmp(mode, "--json"))
                hd_print_json();
        else if (!strcmp(mode, "--sample"))
                hd_print_samples();
        else if (!strcmp(mode, "--schema"))
                puts(hd_catalogue_schema_json());
        else if (!*mode)
                for (size_t i = 0; i < hd_catalogue_count(); i++) {
                        const hd_event_type_t *t = hd_catalogue_get(i);
                        printf("%-32s %-12s %zu tokens\n", t->name,
                               t->ordered_default ? "in order" : "out of order", t->ntokens);
                }
        else {
                fprintf(stderr, "herald catalogue: unknown option %s\n", mode);
                return 2;
        }
        hd_catalogue_cleanup();
        return 0;
}
