/* hd_catalogue_data: the .avsc files of schemas/avro, embedded at build time. */
#ifndef HD_CATALOGUE_DATA_H
#define HD_CATALOGUE_DATA_H

#include <stddef.h>

typedef struct hd_catalogue_file {
        const char *path; /* relative to schemas/avro, e.g. "events/invoice.posted.avsc" */
        const char *text;
} hd_catalogue_file_t;

extern const hd_catalogue_file_t hd_catalogue_files[];
extern const size_t hd_catalogue_nfiles;

#endif
