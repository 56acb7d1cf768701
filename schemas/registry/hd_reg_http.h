/*
 * hd_reg_http: the Confluent REST subset of herald-registry on libmicrohttpd:
 * routing, request bodies (capped), and Confluent-shaped answers and errors.
 */
#ifndef HD_REG_HTTP_H
#define HD_REG_HTTP_H

#include "hd_reg_store.h"

typedef struct hd_reg_http hd_reg_http_t;

/* Listens on host:port (port 0 = ephemeral); *bound_port gets the real port. */
hd_reg_http_t *hd_reg_http_start(hd_reg_store_t *st, const char *host, int port,
                                 int *bound_port, char *errstr, size_t errstr_size);
void hd_reg_http_stop(hd_reg_http_t *h);

#endif
