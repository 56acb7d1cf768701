/*
 * hd_devcert: a local certificate authority and a server certificate for the dev
 * hostnames (localhost, *.dev.test, 127.0.0.1, ::1), so the dev stack and the
 * tests speak real HTTPS with verification on. Written once into a directory:
 * ca.pem, ca-key.pem, server.pem, server-key.pem (keys mode 0600). Never for
 * production: the CA key sits beside the certificates.
 */
#ifndef HD_DEVCERT_H
#define HD_DEVCERT_H

#include <stddef.h>

/* Creates the files in dir unless ca.pem and server.pem already exist there. */
int hd_devcert_ensure(const char *dir, char *errstr, size_t errstr_size);

#endif
