/* herald_webhook: the receiver-side verification in the public API (herald.h). */
#include "herald_internal.h"
#include "hd_webhook_sig.h"

#include <time.h>

herald_err_t herald_webhook_verify(const char *secret, const char *webhook_id,
                                   const char *webhook_timestamp,
                                   const char *webhook_signature, const void *body,
                                   size_t len, char *errstr, size_t errstr_size)
{
        if (!secret || (!body && len))
                return herald_fail(HERALD_ERR_ARG, errstr, errstr_size,
                                   "secret and body are required");
        if (hd_webhook_verify(&secret, 1, webhook_id, webhook_timestamp, webhook_signature,
                              body, len, (int64_t)time(NULL), HD_SIG_TOLERANCE_S, errstr,
                              errstr_size))
                return HERALD_ERR_INVALID;
        return HERALD_OK;
}
