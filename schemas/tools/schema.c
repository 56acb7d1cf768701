/*
 * herald-schema: `herald schema register|list|show|check|config|delete`, schema
 * management against herald-registry or any Confluent-compatible registry (only
 * Confluent REST endpoints, through hd_registry with its failover and auth).
 * Subjects follow the producer and `herald dev`: TopicNameStrategy, one
 * "<topic>-value" subject per event topic, both holding the assembled envelope.
 * `check --offline` needs no registry: hd_compat checks the file against local
 * previous versions.
 */
#include "hd_catalogue.h"
#include "hd_compat.h"
#include "hd_config.h"
#include "hd_log.h"
#include "hd_registry.h"
#include "hd_util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_SCHEMA_MAX_FILE (16 * 1024 * 1024)

enum { HD_EXIT_OK = 0, HD_EXIT_REFUSED = 1, HD_EXIT_ERROR = 2 };

typedef struct hd_schcli {
        hd_config_t *cfg;
        hd_registry_t *reg;
        const char *subject;   /* --subject */
        const char *set;       /* --set LEVEL */
        const char *level;     /* --level (offline check) */
        const char **offline;  /* --offline files, oldest first */
        size_t noffline;
        int version;           /* --version, 0 = none */
        int all, permanent, deleted;
        char **args;           /* positional arguments after the command */
        int nargs;
} hd_schcli_t;

static const char hd_usage[] =
        "usage: herald schema [--config F] COMMAND\n"
        "  register [FILE...|--all] [--subject S]\n"
        "                 register schema files, or with --all the catalogue built into\n"
        "                 herald, under S (default: TOPIC-value of both event topics)\n"
        "  list [--deleted]                     subjects and their versions\n"
        "  show SUBJECT [VERSION]               a version (default latest) and its schema\n"
        "  check FILE [--subject S]             may FILE be registered? (the registry's\n"
        "                                       /compatibility, under the subject's level)\n"
        "  check FILE --offline PREVIOUS.avsc [--offline NEWER.avsc ...] [--level L]\n"
        "                                       the same locally (level default BACKWARD)\n"
        "  config [SUBJECT] [--set LEVEL]       show or set the level (global without\n"
        "                                       SUBJECT): NONE, BACKWARD, FORWARD, FULL,\n"
        "                                       BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE,\n"
        "                                       FULL_TRANSITIVE\n"
        "  delete SUBJECT [--version V] [--permanent]\n"
        "                                       soft delete; --permanent also removes it\n"
        "Exit 0 ok / compatible, 1 incompatible, refused or not found, 2 usage or other\n"
        "errors.\n";

static int hd_exit_for(int reg_rc)
{
        return reg_rc == HD_REG_E_CONFLICT || reg_rc == HD_REG_E_NOT_FOUND ? HD_EXIT_REFUSED
                                                                           : HD_EXIT_ERROR;
}

static int hd_fail(int code, const char *fmt, ...) HD_PRINTF(2, 3);

static int hd_fail(int code, const char *fmt, ...)
{
        va_list ap;

        fputs("herald schema: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

/* The file's text, checked to be JSON (the registry would say less clearly). */
static char *hd_read_schema(const char *file, char *errstr, size_t errstr_size)
{
        char *text = hd_read_file(file, HD_SCHEMA_MAX_FILE, NULL, errstr, errstr_size);
        json_error_t jerr;
        json_t *j;

        if (!text)
                return NULL;
        if (!(j = json_loads(text, JSON_DECODE_ANY, &jerr))) {
                hd_seterr(errstr, errstr_size, "%s:%d:%d: %s", file, jerr.line, jerr.column,
                          jerr.text);
                free(text);
                return NULL;
        }
        json_decref(j);
        return text;
}

/* --subject S, else the event topics' value subjects; count returned. */
static size_t hd_subjects(const hd_schcli_t *C, char subjects[2][300])
{
        if (C->subject) {
                snprintf(subjects[0], sizeof(subjects[0]), "%s", C->subject);
                return 1;
        }
        snprintf(subjects[0], sizeof(subjects[0]), "%s-value", C->cfg->topics.ordered);
        snprintf(subjects[1], sizeof(subjects[1]), "%s-value", C->cfg->topics.unordered);
        return strcmp(subjects[0], subjects[1]) ? 2 : 1;
}

static int hd_register_one(hd_schcli_t *C, const char *what, const char *text)
{
        char subjects[2][300], err[HD_ERRSTR_SIZE];
        size_t n = hd_subjects(C, subjects);
        int worst = HD_EXIT_OK;

        for (size_t i = 0; i < n; i++) {
                int32_t id = 0, again = 0;
                int version = 0, rc;

                rc = hd_registry_register(C->reg, subjects[i], text, &id, err, sizeof(err));
                if (!rc)
                        rc = hd_registry_lookup(C->reg, subjects[i], text, &again, &version, err,
                                                sizeof(err));
                if (rc) {
                        hd_fail(0, "%s: %s: %s", subjects[i], what, err);
                        if (hd_exit_for(rc) > worst)
                                worst = hd_exit_for(rc);
                        continue;
                }
                printf("%s: %s registered: id %d, version %d\n", subjects[i], what, (int)id,
                       version);
        }
        return worst;
}

static int hd_cmd_register(hd_schcli_t *C)
{
        char err[HD_ERRSTR_SIZE];
        int worst = HD_EXIT_OK, r;

        if (C->all == (C->nargs > 0))
                return hd_fail(HD_EXIT_ERROR, "register needs FILE... or --all (not both)");
        if (C->all)
                return hd_register_one(C, "catalogue", hd_catalogue_schema_json());
        for (int i = 0; i < C->nargs; i++) {
                char *text = hd_read_schema(C->args[i], err, sizeof(err));
                if (!text) {
                        hd_fail(0, "%s", err);
                        worst = HD_EXIT_ERROR;
                        continue;
                }
                if ((r = hd_register_one(C, C->args[i], text)) > worst)
                        worst = r;
                free(text);
        }
        return worst;
}

static int hd_cmd_list(hd_schcli_t *C)
{
        char err[HD_ERRSTR_SIZE];
        hd_strlist_t subjects;
        int rc = hd_registry_subjects(C->reg, C->deleted, &subjects, err, sizeof(err));

        if (rc)
                return hd_fail(hd_exit_for(rc), "%s", err);
        for (size_t i = 0; i < subjects.n; i++) {
                int *versions = NULL;
                size_t n = 0;
                printf("%s", subjects.v[i]);
                if (!hd_registry_versions(C->reg, subjects.v[i], &versions, &n, err,
                                          sizeof(err)))
                        for (size_t k = 0; k < n; k++)
                                printf("%s%d", k ? "," : "  versions ", versions[k]);
                else
                        printf("  (no live versions)");
                putchar('\n');
                free(versions);
        }
        hd_strlist_clear(&subjects);
        return HD_EXIT_OK;
}

static int hd_parse_int(const char *s, int *out)
{
        char *end;
        long v = strtol(s, &end, 10);

        if (!*s || *end || v < 1 || v > 2147483647L)
                return -1;
        *out = (int)v;
        return 0;
}

static int hd_cmd_show(hd_schcli_t *C)
{
        char err[HD_ERRSTR_SIZE], *schema = NULL, *pretty;
        int version = -1, got = 0, rc;
        int32_t id = 0;
        json_t *j;

        if (C->nargs < 1 || C->nargs > 2 || (C->nargs == 2 && strcmp(C->args[1], "latest") &&
                                             hd_parse_int(C->args[1], &version)))
                return hd_fail(HD_EXIT_ERROR, "usage: show SUBJECT [VERSION|latest]");
        rc = hd_registry_get_version(C->reg, C->args[0], version, &schema, &id, &got, err,
                                     sizeof(err));
        if (rc)
                return hd_fail(hd_exit_for(rc), "%s", err);
        /* The header on stderr: `show S > file.avsc` keeps just the schema. */
        fprintf(stderr, "subject %s version %d id %d\n", C->args[0], got, (int)id);
        j = json_loads(schema, JSON_DECODE_ANY, NULL);
        pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;
        puts(pretty ? pretty : schema);
        free(pretty);
        json_decref(j);
        free(schema);
        return HD_EXIT_OK;
}

/* check --offline: hd_compat against the given previous versions. */
static int hd_check_offline(hd_schcli_t *C, const char *text)
{
        char err[HD_ERRSTR_SIZE], **prev = hd_calloc(C->noffline + 1, sizeof(char *));
        hd_compat_level_t level = HD_COMPAT_BACKWARD;
        json_t *msgs = json_array(), *m;
        int rc = HD_COMPAT_OK;
        size_t i;

        if (C->level && hd_compat_level_parse(C->level, &level))
                rc = hd_fail(HD_COMPAT_ERROR, "unknown level \"%s\"", C->level);
        for (i = 0; i < C->noffline && rc == HD_COMPAT_OK; i++)
                if (!(prev[i] = hd_read_schema(C->offline[i], err, sizeof(err))))
                        rc = hd_fail(HD_COMPAT_ERROR, "%s", err);
        if (rc == HD_COMPAT_OK) {
                rc = hd_compat_check_level(level, text, (const char *const *)prev,
                                           (const char *const *)C->offline, C->noffline, msgs,
                                           err, sizeof(err));
                if (rc == HD_COMPAT_ERROR)
                        hd_fail(0, "%s", err);
        }
        json_array_foreach(msgs, i, m)
                printf("%s\n", json_string_value(m));
        if (rc >= 0)
                printf("%s: %s under %s\n", C->args[0],
                       rc == HD_COMPAT_OK ? "compatible" : "INCOMPATIBLE",
                       hd_compat_level_name(level));
        for (i = 0; i < C->noffline; i++)
                free(prev[i]);
        free(prev);
        json_decref(msgs);
        return rc == HD_COMPAT_OK ? HD_EXIT_OK : rc == HD_COMPAT_INCOMPATIBLE ? HD_EXIT_REFUSED
                                                                             : HD_EXIT_ERROR;
}

/* One subject: every version its level names, else (older registries) the latest. */
static int hd_check_subject(hd_schcli_t *C, const char *subject, const char *text)
{
        char err[HD_ERRSTR_SIZE], *msgs = NULL;
        int ok = 0, rc = hd_registry_check(C->reg, subject, 0, text, &ok, &msgs, err, sizeof(err));

        if (rc == HD_REG_E_NOT_FOUND && hd_registry_last_code() == 40401) {
                printf("%s: no versions yet: compatible\n", subject);
                return HD_EXIT_OK;
        }
        if (rc && rc != HD_REG_E_UNREACHABLE && hd_registry_last_code() / 100 != 422)
                rc = hd_registry_check(C->reg, subject, -1, text, &ok, &msgs, err, sizeof(err));
        if (rc == HD_REG_E_NOT_FOUND && hd_registry_last_code() == 40401) {
                printf("%s: no versions yet: compatible\n", subject);
                return HD_EXIT_OK;
        }
        if (rc)
                return hd_fail(HD_EXIT_ERROR, "%s: %s", subject, err);
        if (msgs && *msgs)
                printf("%s\n", msgs);
        printf("%s: %s: %s\n", subject, C->args[0], ok ? "compatible" : "INCOMPATIBLE");
        free(msgs);
        return ok ? HD_EXIT_OK : HD_EXIT_REFUSED;
}

static int hd_cmd_check(hd_schcli_t *C)
{
        char err[HD_ERRSTR_SIZE], subjects[2][300], *text;
        int worst = HD_EXIT_OK, r;
        size_t n;

        if (C->nargs != 1)
                return hd_fail(HD_EXIT_ERROR, "usage: check FILE [--subject S] "
                                              "[--offline PREVIOUS.avsc [--level L]]");
        if (!(text = hd_read_schema(C->args[0], err, sizeof(err))))
                return hd_fail(HD_EXIT_ERROR, "%s", err);
        if (C->noffline) {
                r = hd_check_offline(C, text);
                free(text);
                return r;
        }
        n = hd_subjects(C, subjects);
        for (size_t i = 0; i < n; i++)
                if ((r = hd_check_subject(C, subjects[i], text)) > worst)
                        worst = r;
        free(text);
        return worst;
}

static int hd_cmd_config(hd_schcli_t *C)
{
        const char *subject = C->nargs ? C->args[0] : NULL;
        char err[HD_ERRSTR_SIZE], *level = NULL;
        hd_compat_level_t l;
        int rc, global = 0;

        if (C->nargs > 1)
                return hd_fail(HD_EXIT_ERROR, "usage: config [SUBJECT] [--set LEVEL]");
        if (C->set) {
                if (hd_compat_level_parse(C->set, &l))
                        return hd_fail(HD_EXIT_ERROR, "unknown level \"%s\"", C->set);
                rc = hd_registry_set_config(C->reg, subject, hd_compat_level_name(l), err,
                                            sizeof(err));
                if (rc)
                        return hd_fail(hd_exit_for(rc), "%s", err);
                printf("%s: %s\n", subject ? subject : "global", hd_compat_level_name(l));
                return HD_EXIT_OK;
        }
        rc = hd_registry_get_config(C->reg, subject, &level, err, sizeof(err));
        if (rc == HD_REG_E_NOT_FOUND && subject) { /* no level of its own: the global one */
                global = 1;
                rc = hd_registry_get_config(C->reg, NULL, &level, err, sizeof(err));
        }
        if (rc)
                return hd_fail(hd_exit_for(rc), "%s", err);
        printf("%s: %s%s\n", subject ? subject : "global", level, global ? " (global)" : "");
        free(level);
        return HD_EXIT_OK;
}

/* --permanent: Confluent wants a soft delete first; one already done is fine. */
static int hd_cmd_delete(hd_schcli_t *C)
{
        char err[HD_ERRSTR_SIZE];
        const char *s;
        int *versions = NULL, rc;
        size_t n = 0;

        if (C->nargs != 1)
                return hd_fail(HD_EXIT_ERROR,
                               "usage: delete SUBJECT [--version V] [--permanent]");
        s = C->args[0];
        if (C->version) {
                rc = hd_registry_delete_version(C->reg, s, C->version, 0, err, sizeof(err));
                if (rc == HD_REG_E_NOT_FOUND && C->permanent && hd_registry_last_code() == 40406)
                        rc = 0;
                if (!rc && C->permanent)
                        rc = hd_registry_delete_version(C->reg, s, C->version, 1, err,
                                                        sizeof(err));
                if (rc)
                        return hd_fail(hd_exit_for(rc), "%s", err);
                printf("%s: version %d %sdeleted\n", s, C->version,
                       C->permanent ? "permanently " : "");
                return HD_EXIT_OK;
        }
        rc = hd_registry_delete_subject(C->reg, s, 0, &versions, &n, err, sizeof(err));
        if (rc == HD_REG_E_NOT_FOUND && C->permanent && hd_registry_last_code() == 40404)
                rc = 0;
        if (!rc && C->permanent) {
                free(versions);
                rc = hd_registry_delete_subject(C->reg, s, 1, &versions, &n, err, sizeof(err));
        }
        if (rc) {
                free(versions);
                return hd_fail(hd_exit_for(rc), "%s", err);
        }
        printf("%s: %sdeleted versions", s, C->permanent ? "permanently " : "");
        for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? "," : " ", versions[i]);
        putchar('\n');
        free(versions);
        return HD_EXIT_OK;
}

static int hd_dispatch(hd_schcli_t *C, const char *cmd)
{
        if (!strcmp(cmd, "register")) return hd_cmd_register(C);
        if (!strcmp(cmd, "list")) return hd_cmd_list(C);
        if (!strcmp(cmd, "show")) return hd_cmd_show(C);
        if (!strcmp(cmd, "check")) return hd_cmd_check(C);
        if (!strcmp(cmd, "config")) return hd_cmd_config(C);
        if (!strcmp(cmd, "delete")) return hd_cmd_delete(C);
        return hd_fail(HD_EXIT_ERROR, "unknown command \"%s\"\n%s", cmd, hd_usage);
}

/* Options; 0, or an exit code. */
static int hd_parse_args(hd_schcli_t *C, int argc, char **argv, const char **config)
{
        static const struct option opts[] = {
                {"config", 1, NULL, 'c'},  {"subject", 1, NULL, 's'}, {"offline", 1, NULL, 'o'},
                {"level", 1, NULL, 'l'},   {"set", 1, NULL, 'S'},     {"version", 1, NULL, 'v'},
                {"all", 0, NULL, 'a'},     {"permanent", 0, NULL, 'p'},
                {"deleted", 0, NULL, 'd'}, {"help", 0, NULL, 'h'},    {NULL, 0, NULL, 0}};
        int c;

        while ((c = getopt_long(argc, argv, "c:s:o:l:S:v:apdh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': *config = optarg; break;
                case 's': C->subject = optarg; break;
                case 'o':
                        C->offline = hd_realloc(C->offline, (C->noffline + 1) * sizeof(char *));
                        C->offline[C->noffline++] = optarg;
                        break;
                case 'l': C->level = optarg; break;
                case 'S': C->set = optarg; break;
                case 'v':
                        if (hd_parse_int(optarg, &C->version))
                                return hd_fail(HD_EXIT_ERROR, "--version needs a number >= 1");
                        break;
                case 'a': C->all = 1; break;
                case 'p': C->permanent = 1; break;
                case 'd': C->deleted = 1; break;
                case 'h': fputs(hd_usage, stdout); return -1;
                default: fputs(hd_usage, stderr); return HD_EXIT_ERROR;
                }
        }
        if (optind >= argc) {
                fputs(hd_usage, stderr);
                return HD_EXIT_ERROR;
        }
        C->args = argv + optind + 1;
        C->nargs = argc - optind - 1;
        return 0;
}

int main(int argc, char **argv)
{
        hd_schcli_t C = {0};
        const char *config = NULL;
        char err[HD_ERRSTR_SIZE];
        int rc = hd_parse_args(&C, argc, argv, &config);

        if (rc) {
                free(C.offline);
                return rc < 0 ? 0 : rc;
        }
        if (!(C.cfg = hd_config_load(config, err, sizeof(err)))) {
                free(C.offline);
                return hd_fail(HD_EXIT_ERROR, "%s", err);
        }
        hd_log_set_level(C.cfg->log_level);
        /* An offline check needs no registry: none may be configured. */
        if (!(C.noffline && !strcmp(argv[optind], "check")) &&
            !(C.reg = hd_registry_from_config(C.cfg, err, sizeof(err))))
                rc = hd_fail(HD_EXIT_ERROR, "%s", err);
        else
                rc = hd_dispatch(&C, argv[optind]);
        hd_registry_destroy(C.reg);
        hd_config_destroy(C.cfg);
        hd_catalogue_cleanup();
        hd_log_clear_secrets();
        free(C.offline);
        return rc;
}
