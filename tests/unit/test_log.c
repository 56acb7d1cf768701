/* Logging: logfmt shape, quoting, and that secrets never reach a line. */
#include "hd_log.h"
#include "hd_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
        char line[1024];
        const char *kv[] = {"user", "bob", "password", "hunter22", "note", "a \"b\"",
                            "Authorization", "Bearer abc"};

        hd_log_format(line, sizeof(line), 0, HD_LOG_WARN, "reg", "hello world", kv, 8);
        HD_CHECK_STR_EQ(line, "ts=1970-01-01T00:00:00.000Z level=warn comp=reg "
                              "msg=\"hello world\" user=bob password=[redacted] "
                              "note=\"a \\\"b\\\"\" Authorization=[redacted]");
        hd_log_add_secret("tok-XYZ-123");
        const char *kv2[] = {"error", "auth failed for tok-XYZ-123 at host"};
        hd_log_format(line, sizeof(line), 1500, HD_LOG_ERROR, "c",
                      "sent tok-XYZ-123\nnext", kv2, 2);
        HD_CHECK(strstr(line, "tok-XYZ") == NULL);
        HD_CHECK_CONTAINS(line, "msg=\"sent [redacted]\\nnext\"");
        HD_CHECK_CONTAINS(line, "error=\"auth failed for [redacted] at host\"");
        HD_CHECK_CONTAINS(line, "ts=1970-01-01T00:00:01.500Z");
        HD_CHECK_INT_EQ(hd_log_level_parse("WARN"), HD_LOG_WARN);
        HD_CHECK_INT_EQ(hd_log_level_parse("chatty"), -1);
        HD_CHECK(hd_log_key_is_secret("sasl.password"));
        HD_CHECK(!hd_log_key_is_secret("topic"));
        /* A secret straddling the old 2 KiB message cut is still redacted whole. */
        {
                char path[1100], big[2100], *text, err[256];
                int saved = dup(2), fd;
                snprintf(path, sizeof(path), "%s/stderr.txt", hd_test_tmpdir());
                fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
                memset(big, 'a', 2040);
                big[2040] = '\0';
                hd_log_add_secret("S3CRETVALUE-123456");
                dup2(fd, 2);
                hd_logf(HD_LOG_ERROR, "t", "%sS3CRETVALUE-123456 tail", big);
                fflush(stderr);
                dup2(saved, 2);
                close(fd);
                close(saved);
                text = hd_read_file(path, 1 << 20, NULL, err, sizeof(err));
                HD_CHECK_MSG(text && !strstr(text, "S3CRET"), "secret prefix leaked");
                HD_CHECK_CONTAINS(text, "[redacted]");
                free(text);
        }
        hd_log_clear_secrets();
        return hd_test_finish("test_log");
}
