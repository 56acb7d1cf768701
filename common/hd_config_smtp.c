/*
 * hd_config_smtp: the `email.profiles` list of herald.conf, one group per SMTP
 * account, validated with the same FILE:LINE: SETTING: problem messages.
 */
#include "hd_config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int hd_loopback_host(const char *h)
{
        return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "::1") ||
               !strcmp(h, "[::1]");
}

static int hd_smtp_str(hd_cload_t *L, config_setting_t *s, const char *path, char **out)
{
        const char *v = config_setting_get_string(s);

        if (!v)
                return hd_cload_err(L, config_setting_source_line(s), path,
                                    "expected a string, got %s",
                                    hd_cload_type_name(config_setting_type(s)));
        for (const char *p = v; *p; p++)
                if (*p == '\r' || *p == '\n')
                        return hd_cload_err(L, config_setting_source_line(s), path,
                                            "must not contain CR or LF");
        free(*out);
        *out = hd_strdup(v);
        return 0;
}

static int hd_smtp_int(hd_cload_t *L, config_setting_t *s, const char *path, int min,
                       int max, int *out)
{
        long long v;

        if (config_setting_type(s) != CONFIG_TYPE_INT)
                return hd_cload_err(L, config_setting_source_line(s), path,
                                    "expected an integer, got %s",
                                    hd_cload_type_name(config_setting_type(s)));
        v = hd_cload_int_value(L, s);
        if (v < min || v > max)
                return hd_cload_err(L, config_setting_source_line(s), path,
                                    "must be between %d and %d, got %lld", min, max, v);
        *out = (int)v;
        return 0;
}

static int hd_smtp_field(hd_cload_t *L, hd_smtp_profile_t *sp, config_setting_t *s,
                         const char *path)
{
        const char *n = config_setting_name(s);

        if (!strcmp(n, "name")) return hd_smtp_str(L, s, path, &sp->name);
        if (!strcmp(n, "host")) return hd_smtp_str(L, s, path, &sp->host);
        if (!strcmp(n, "tls")) return hd_smtp_str(L, s, path, &sp->tls);
        if (!strcmp(n, "from_name")) return hd_smtp_str(L, s, path, &sp->from_name);
        if (!strcmp(n, "from_address")) return hd_smtp_str(L, s, path, &sp->from_address);
        if (!strcmp(n, "username")) return hd_smtp_str(L, s, path, &sp->username);
        if (!strcmp(n, "port")) return hd_smtp_int(L, s, path, 1, 65535, &sp->port);
        if (!strcmp(n, "max_connections"))
                return hd_smtp_int(L, s, path, 1, 100, &sp->max_connections);
        if (!strcmp(n, "password") || !strcmp(n, "password_env") ||
            !strcmp(n, "password_file")) {
                const char *v = config_setting_get_string(s);
                if (!v)
                        return hd_cload_err(L, config_setting_source_line(s), path,
                                            "expected a string, got %s",
                                            hd_cload_type_name(config_setting_type(s)));
                if (sp->password)
                        return hd_cload_err(L, config_setting_source_line(s), path,
                                            "set only one of password, password_env and "
                                            "password_file");
                return hd_cload_secret(L, path, n[8] ? n + 8 : NULL, v,
                                       config_setting_source_line(s), &sp->password);
        }
        return hd_cload_err(L, config_setting_source_line(s), path, "unknown setting");
}

/* Whole-profile rules once every field is read. */
static int hd_smtp_check(hd_cload_t *L, const hd_smtp_profile_t *sp, const char *path)
{
        char p[300];

        if (!sp->name || !sp->host || !sp->from_address) {
                snprintf(p, sizeof(p), "%s.%s", path,
                         !sp->name ? "name" : !sp->host ? "host" : "from_address");
                return hd_cload_err(L, sp->line, p, "missing required setting");
        }
        for (const char *c = sp->name; *c; c++)
                if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && !strchr("_-", *c))
                        return hd_cload_err(L, sp->line, path,
                                            "name \"%s\": use lowercase letters, digits, "
                                            "'_' and '-'", sp->name);
        if (!strchr(sp->from_address, '@'))
                return hd_cload_err(L, sp->line, path, "from_address \"%s\" is not an e-mail "
                                    "address", sp->from_address);
        if (strcmp(sp->tls, "starttls") && strcmp(sp->tls, "implicit") && strcmp(sp->tls, "none"))
                return hd_cload_err(L, sp->line, path,
                                    "tls \"%s\": use starttls, implicit or none", sp->tls);
        if (!sp->username != !sp->password)
                return hd_cload_err(L, sp->line, path,
                                    "username and password must be set together");
        if (!strcmp(sp->tls, "none") && sp->username && !hd_loopback_host(sp->host))
                return hd_cload_err(L, sp->line, path,
                                    "tls = \"none\" with credentials is only allowed for a "
                                    "loopback host (would send the password in clear to %s)",
                                    sp->host);
        return 0;
}

static int hd_smtp_profile(hd_cload_t *L, config_setting_t *g, size_t idx)
{
        hd_config_t *cfg = L->cfg;
        hd_smtp_profile_t *sp = &cfg->email.profiles[idx];
        char path[300];
        int n = config_setting_length(g);

        snprintf(path, sizeof(path), "email.profiles[%zu]", idx);
        sp->line = config_setting_source_line(g);
        sp->port = 25;
        sp->max_connections = 4;
        sp->tls = hd_strdup("starttls");
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
                return hd_cload_err(L, sp->line, path, "expected a group, got %s",
                                    hd_cload_type_name(config_setting_type(g)));
        for (int i = 0; i < n; i++) {
                config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
                char fpath[400];
                snprintf(fpath, sizeof(fpath), "%s.%s", path, config_setting_name(s));
                if (hd_smtp_field(L, sp, s, fpath))
                        return -1;
        }
        if (hd_smtp_check(L, sp, path))
                return -1;
        for (size_t k = 0; k < idx; k++)
                if (!strcmp(cfg->email.profiles[k].name, sp->name))
                        return hd_cload_err(L, sp->line, path,
                                            "duplicate profile name \"%s\" (first at line %d)",
                                            sp->name, cfg->email.profiles[k].line);
        return 0;
}

int hd_cload_smtp_profiles(hd_cload_t *L, config_setting_t *list)
{
        int n = config_setting_length(list);

        if (config_setting_type(list) != CONFIG_TYPE_LIST)
                return hd_cload_err(L, config_setting_source_line(list), "email.profiles",
                                    "expected a list of groups ( { … }, … ), got %s",
                                    hd_cload_type_name(config_setting_type(list)));
        L->cfg->email.profiles = hd_calloc((size_t)n, sizeof(hd_smtp_profile_t));
        for (int i = 0; i < n; i++) {
                L->cfg->email.nprofiles = (size_t)i + 1;
                if (hd_smtp_profile(L, config_setting_get_elem(list, (unsigned)i), (size_t)i))
                        return -1;
        }
        return 0;
}

void hd_config_smtp_free(hd_config_t *cfg)
{
        for (size_t i = 0; i < cfg->email.nprofiles; i++) {
                hd_smtp_profile_t *sp = &cfg->email.profiles[i];
                free(sp->name), free(sp->host), free(sp->tls), free(sp->from_name);
                free(sp->from_address), free(sp->username), free(sp->password);
        }
        free(cfg->email.profiles);
}

const hd_smtp_profile_t *hd_config_smtp_profile(const hd_config_t *cfg, const char *name)
{
        for (size_t i = 0; i < cfg->email.nprofiles; i++)
                if (!strcmp(cfg->email.profiles[i].name, name))
                        return &cfg->email.profiles[i];
        return NULL;
}
