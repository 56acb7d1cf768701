/*
 * hd_compat_internal: the reader/writer check shared by hd_compat.c (the rules) and
 * hd_compat_level.c (levels, string API).
 */
#ifndef HD_COMPAT_INTERNAL_H
#define HD_COMPAT_INTERNAL_H

#include "hd_compat_schema.h"

#include <stdint.h>

/* Whose view messages take: neutral reader/writer, or new/old schema. */
enum { HD_CC_NEUTRAL, HD_CC_READER_NEW, HD_CC_READER_OLD };

typedef struct hd_cc {
        const hd_cs_t *r, *w;
        int dir;
        json_t *msgs;         /* NULL: verdict only */
        size_t dropped;       /* messages over HD_COMPAT_MAX_MESSAGES */
        uint64_t *keys;       /* memo of pairs */
        unsigned char *states;
        size_t cap, used;
        unsigned long steps;
        int depth, aborted;
        char prefix[128];     /* "version 3" */
        int emitting;         /* the current check explains: keep ptr and dot */
        size_t ptrlen, dotlen;
        char ptr[1024];       /* JSON pointer of the place being checked */
        char dot[1024];       /* field path of the same */
} hd_cc_t;

/*
 * Can reader read writer? HD_COMPAT_OK / HD_COMPAT_INCOMPATIBLE (reasons appended to
 * msgs, each prefixed "prefix: " when prefix is not empty) / HD_COMPAT_ERROR.
 */
int hd_cc_run(const hd_cs_t *reader, const hd_cs_t *writer, int dir, const char *prefix,
              json_t *msgs, char *errstr, size_t errstr_size);

#endif
