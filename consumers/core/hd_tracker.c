/* hd_tracker: see hd_tracker.h. */
#include "hd_tracker.h"
#include "hd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_TRACKER_MAX_RESTORED 100000

/*
 * A window of states for offsets [base, base + len): 1 = final. base is always the
 * commit point; leading finals are dropped as soon as they appear. Offsets from
 * base + len up to `known` were restored as final but not received yet.
 */
struct hd_tracker {
        int64_t base;
        unsigned char *st;
        size_t len, cap;
        size_t open;
        int64_t next;       /* the offset expected next from the broker */
        int64_t *restored;  /* finals from metadata beyond the window, sorted */
        size_t nrestored;
};

hd_tracker_t *hd_tracker_new(int64_t start)
{
        hd_tracker_t *t = hd_calloc(1, sizeof(*t));

        t->base = t->next = start;
        return t;
}

void hd_tracker_destroy(hd_tracker_t *t)
{
        if (!t)
                return;
        free(t->st);
        free(t->restored);
        free(t);
}

static void hd_tracker_trim(hd_tracker_t *t)
{
        size_t k = 0;

        while (k < t->len && t->st[k])
                k++;
        if (k) {
                memmove(t->st, t->st + k, t->len - k);
                t->len -= k;
                t->base += (int64_t)k;
        }
}

static void hd_tracker_push(hd_tracker_t *t, unsigned char state)
{
        if (t->len == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 256;
                t->st = hd_realloc(t->st, t->cap);
        }
        t->st[t->len++] = state;
}

static int hd_tracker_was_restored(const hd_tracker_t *t, int64_t offset)
{
        size_t lo = 0, hi = t->nrestored;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (t->restored[mid] == offset)
                        return 1;
                if (t->restored[mid] < offset)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

void hd_tracker_add(hd_tracker_t *t, int64_t offset)
{
        if (offset < t->next)
                return; /* a redelivery after seek: already tracked */
        if (t->len == 0 && t->next < offset)
                t->base = offset; /* a gap at the front needs no room */
        else
                while (t->next < offset) { /* a gap: those offsets will never come */
                        hd_tracker_push(t, 1);
                        t->next++;
                }
        if (hd_tracker_was_restored(t, offset)) {
                hd_tracker_push(t, 1);
        } else {
                hd_tracker_push(t, 0);
                t->open++;
        }
        t->next = offset + 1;
        hd_tracker_trim(t);
}

void hd_tracker_done(hd_tracker_t *t, int64_t offset)
{
        int64_t i = offset - t->base;

        if (i < 0 || (size_t)i >= t->len || t->st[i])
                return;
        t->st[i] = 1;
        t->open--;
        hd_tracker_trim(t);
}

int64_t hd_tracker_commit_offset(const hd_tracker_t *t)
{
        return t->len ? t->base : t->next;
}

size_t hd_tracker_open(const hd_tracker_t *t)
{
        return t->open;
}

int hd_tracker_is_done(const hd_tracker_t *t, int64_t offset)
{
        int64_t i = offset - t->base;

        if (i < 0)
                return 1;
        if ((size_t)i < t->len)
                return t->st[i];
        return hd_tracker_was_restored(t, offset);
}

void hd_tracker_metadata(const hd_tracker_t *t, char *buf, size_t size)
{
        size_t off = (size_t)snprintf(buf, size, "hd1:"), i = 0;
        int first = 1;

        while (i < t->len && off + 24 < size) { /* room for ",<run>" */
                unsigned char s = t->st[i];
                size_t run = 0;
                while (i < t->len && t->st[i] == s)
                        run++, i++;
                if (s && i == t->len)
                        break; /* a trailing final run is implied by the next commit */
                off += (size_t)snprintf(buf + off, size - off, "%s%zu", first ? "" : ",", run);
                first = 0;
        }
        /* Any prefix of the runs is true, so stopping when full is safe. */
}

int hd_tracker_restore(hd_tracker_t *t, int64_t committed, const char *metadata)
{
        const char *p;
        int64_t at = committed;
        int final = 0;

        t->base = t->next = committed;
        t->len = t->open = 0;
        t->nrestored = 0;
        if (!metadata || strncmp(metadata, "hd1:", 4))
                return 0; /* none, or written by someone else: deliver everything */
        for (p = metadata + 4; *p;) {
                char *end;
                long long run = strtoll(p, &end, 10);
                if (end == p || run < 0 || run > 10000000)
                        return -1;
                if (final && t->nrestored + (size_t)run > HD_TRACKER_MAX_RESTORED)
                        return 0; /* keep what fits: the rest is merely redelivered */
                if (final)
                        for (long long k = 0; k < run; k++) {
                                t->restored = hd_realloc(t->restored,
                                                         (t->nrestored + 1) * sizeof(int64_t));
                                t->restored[t->nrestored++] = at + k;
                        }
                at += run;
                final = !final;
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',')
                        return -1;
        }
        return 0;
}
