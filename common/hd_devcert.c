/* hd_devcert: see hd_devcert.h. */
#include "hd_devcert.h"
#include "hd_util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define HD_DEV_SANS "DNS:localhost,DNS:dev.test,DNS:*.dev.test,IP:127.0.0.1,IP:::1"

static EVP_PKEY *hd_devcert_key(void)
{
        return EVP_EC_gen("P-256");
}

static int hd_devcert_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        int ok;

        X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
        if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
                return 0;
        ok = X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
        return ok;
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *hd_devcert_make(EVP_PKEY *key, const char *cn, X509 *issuer,
                             EVP_PKEY *issuer_key, int is_ca, long serial)
{
        X509 *c = X509_new();
        X509_NAME *name = X509_NAME_new();
        int ok;

        X509_set_version(c, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
        X509_gmtime_adj(X509_getm_notBefore(c), -3600);
        X509_gmtime_adj(X509_getm_notAfter(c), 3650L * 24 * 3600);
        X509_set_pubkey(c, key);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                   -1, 0);
        X509_set_subject_name(c, name);
        X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
        X509_NAME_free(name);
        ok = hd_devcert_ext(c, issuer ? issuer : c, NID_basic_constraints,
                            is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
             hd_devcert_ext(c, issuer ? issuer : c, NID_key_usage,
                            is_ca ? "critical,keyCertSign,cRLSign"
                                  : "critical,digitalSignature,keyEncipherment") &&
             (is_ca || (hd_devcert_ext(c, issuer, NID_subject_alt_name, HD_DEV_SANS) &&
                        hd_devcert_ext(c, issuer, NID_ext_key_usage, "serverAuth"))) &&
             X509_sign(c, issuer_key, EVP_sha256());
        if (!ok) {
                X509_free(c);
                return NULL;
        }
        return c;
}

static int hd_devcert_write(const char *dir, const char *name, X509 *cert, EVP_PKEY *key)
{
        char path[1024];
        FILE *fp;
        int ok;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (!(fp = fopen(path, "w")))
                return 0;
        if (key)
                fchmod(fileno(fp), 0600);
        ok = key ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509(fp, cert);
        return fclose(fp) == 0 && ok;
}

int hd_devcert_ensure(const char *dir, char *errstr, size_t errstr_size)
{
        char ca_path[1024], srv_path[1024];
        EVP_PKEY *ca_key = NULL, *srv_key = NULL;
        X509 *ca = NULL, *srv = NULL;
        int ok;

        snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
        snprintf(srv_path, sizeof(srv_path), "%s/server.pem", dir);
        if (access(ca_path, R_OK) == 0 && access(srv_path, R_OK) == 0)
                return 0;
        ok = (ca_key = hd_devcert_key()) && (srv_key = hd_devcert_key()) &&
             (ca = hd_devcert_make(ca_key, "herald dev CA", NULL, ca_key, 1, 1)) &&
             (srv = hd_devcert_make(srv_key, "localhost", ca, ca_key, 0, 2)) &&
             hd_devcert_write(dir, "ca-key.pem", NULL, ca_key) &&
             hd_devcert_write(dir, "server-key.pem", NULL, srv_key) &&
             hd_devcert_write(dir, "server.pem", srv, NULL) &&
             hd_devcert_write(dir, "ca.pem", ca, NULL);
        X509_free(ca);
        X509_free(srv);
        EVP_PKEY_free(ca_key);
        EVP_PKEY_free(srv_key);
        return ok ? 0 : hd_seterr(errstr, errstr_size, "%s: cannot create the dev certificates",
                                  dir);
}
