/*
 * hd_config_internal: the loader state shared by hd_config.c (the settings
 * table) and hd_config_smtp.c (the email.profiles list). Not for other modules.
 */
#ifndef HD_CONFIG_INTERNAL_H
#define HD_CONFIG_INTERNAL_H

#include "hd_config.h"

#include <libconfig.h>

typedef struct hd_cload {
        hd_config_t *cfg;
        const char *file;
        char *errstr;
        size_t errstr_size;
        unsigned char *seen; /* per entry of the settings table */
        const char *text;    /* the file's text: libconfig truncates integers to 32 bits */
} hd_cload_t;

/* The integer value of an INT setting as written in the text (libconfig 1.5 keeps
 * only the low 32 bits of a literal without an L suffix). */
long long hd_cload_int_value(hd_cload_t *L, config_setting_t *s);

/* Formats "FILE:LINE: PATH: problem" into L->errstr; returns -1. */
int hd_cload_err(hd_cload_t *L, int line, const char *path, const char *fmt, ...)
        HD_PRINTF(4, 5);
const char *hd_cload_type_name(int config_type);
/* Resolves a secret given directly (suffix NULL), as _env or as _file. */
int hd_cload_secret(hd_cload_t *L, const char *path, const char *suffix, const char *v,
                    int line, char **out);

int hd_cload_smtp_profiles(hd_cload_t *L, config_setting_t *list);
void hd_config_smtp_free(hd_config_t *cfg);

#endif
