/* Retry schedule: parsing, jitter bounds, Retry-After, outcome classes. */
#include "hd_retry.h"
#include "hd_test.h"

int main(void)
{
        hd_retry_schedule_t s;
        char err[256];
        unsigned seed = 1;
        int out_of_bounds = 0;

        hd_retry_default(&s);
        HD_CHECK_INT_EQ(s.n, 8);
        HD_CHECK_INT_EQ(s.delay_ms[2], 300000);
        HD_CHECK_INT_EQ(s.delay_ms[7], 36000000);
        HD_CHECK_INT_EQ(hd_retry_delay(&s, 1, -1, &seed), 0);
        for (int i = 0; i < 1000; i++) {
                int64_t d = hd_retry_delay(&s, 2, -1, &seed);
                out_of_bounds += d < 4000 || d > 6000;
        }
        HD_CHECK_INT_EQ(out_of_bounds, 0);
        HD_CHECK_INT_EQ(hd_retry_delay(&s, 9, -1, &seed), -1); /* exhausted: DLQ */
        HD_CHECK_INT_EQ(hd_retry_delay(&s, 3, 120000, &seed), 150000); /* below half: raised */
        HD_CHECK_INT_EQ(hd_retry_delay(&s, 3, 200000, &seed), 200000);
        HD_CHECK_INT_EQ(hd_retry_delay(&s, 3, 99 * 3600000LL, &seed), 6 * 3600000LL);

        HD_CHECK(hd_retry_parse("100ms,1s,2m", &s, err, sizeof(err)) == 0);
        HD_CHECK(s.n == 3 && s.delay_ms[0] == 100 && s.delay_ms[2] == 120000);
        HD_CHECK(hd_retry_parse("5", &s, err, sizeof(err)) != 0);
        HD_CHECK_STR_EQ(err, "retry schedule \"5\": a delay needs a unit (ms, s, m, h)");
        HD_CHECK(hd_retry_parse("1s;2s", &s, err, sizeof(err)) != 0);
        HD_CHECK(hd_retry_parse("", &s, err, sizeof(err)) != 0);
        HD_CHECK(hd_retry_parse("9999h", &s, err, sizeof(err)) != 0);

        HD_CHECK_INT_EQ(hd_retry_after_parse("120", 0), 120000);
        HD_CHECK_INT_EQ(hd_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 1445412420), 60000);
        HD_CHECK_INT_EQ(hd_retry_after_parse("soon", 0), -1);
        HD_CHECK_INT_EQ(hd_retry_after_parse("-5", 0), -1);

        HD_CHECK(hd_retry_classify_http(204) == HD_OUTCOME_DELIVERED);
        HD_CHECK(hd_retry_classify_http(0) == HD_OUTCOME_RETRY);
        HD_CHECK(hd_retry_classify_http(503) == HD_OUTCOME_RETRY);
        HD_CHECK(hd_retry_classify_http(429) == HD_OUTCOME_RETRY);
        HD_CHECK(hd_retry_classify_http(410) == HD_OUTCOME_DISABLE);
        HD_CHECK(hd_retry_classify_http(302) == HD_OUTCOME_DEAD);
        HD_CHECK(hd_retry_classify_http(400) == HD_OUTCOME_DEAD);
        return hd_test_finish("test_retry");
}
