/*
 * hd_path: a field path built on the stack while walking nested data
 * ("data.service.name"), formatted only when an error needs it, so the hot path
 * of validation and encoding never formats strings.
 */
#ifndef HD_PATH_H
#define HD_PATH_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct hd_path {
        const char *name;
        const struct hd_path *parent;
} hd_path_t;

/* Writes "a.b.c" into buf (empty for the root) and returns buf. */
static inline const char *hd_path_format(const hd_path_t *p, char *buf, size_t size)
{
        const char *parts[32];
        size_t n = 0, off = 0;

        for (; p && n < 32; p = p->parent)
                if (p->name && *p->name)
                        parts[n++] = p->name;
        buf[0] = '\0';
        while (n-- > 0 && off < size)
                off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "." : "", parts[n]);
        return buf;
}

#endif
