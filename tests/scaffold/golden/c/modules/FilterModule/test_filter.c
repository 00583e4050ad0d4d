/* Unit test of filter.c: plain C, no SDK and no test framework; run by CTest. */
#include "filter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(condition)                                                     \
    do                                                                       \
    {                                                                        \
        if (!(condition))                                                    \
        {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static void forwards_only_above_the_threshold(void)
{
    FILTER filter;
    filter_init(&filter);
    CHECK(filter_apply_threshold(&filter, 30.0) == 1);

    CHECK(filter_should_forward(&filter, 1, 30.5) == 1);
    CHECK(filter_should_forward(&filter, 1, 30.0) == 0);
    CHECK(filter_should_forward(&filter, 1, 12.0) == 0);
    CHECK(filter_should_forward(&filter, 0, 99.0) == 0);
    CHECK(filter_should_forward(&filter, 1, NAN) == 0);
    CHECK(filter.received == 5);
    CHECK(filter.forwarded == 1);
}

static void ignores_a_threshold_that_is_not_a_finite_number(void)
{
    FILTER filter;
    filter_init(&filter);
    CHECK(filter_apply_threshold(&filter, NAN) == 0);
    CHECK(filter_apply_threshold(&filter, INFINITY) == 0);
    CHECK(filter_apply_threshold(&filter, FILTER_DEFAULT_THRESHOLD) == 0);
    CHECK(filter.threshold == FILTER_DEFAULT_THRESHOLD);
}

static void reset_clears_the_counters_and_reports_them(void)
{
    FILTER filter;
    char json[256];
    char tiny[8];
    filter_init(&filter);
    filter_should_forward(&filter, 1, 99.0);
    filter_reset(&filter);
    CHECK(filter.received == 0);
    CHECK(filter.forwarded == 0);
    CHECK(filter_reported_json(&filter, json, sizeof(json)) > 0);
    CHECK(strcmp(json, "{\"TemperatureThreshold\":25,\"messagesReceived\":0,\"messagesForwarded\":0}") == 0);
    CHECK(filter_reported_json(&filter, tiny, sizeof(tiny)) == -1);
}

int main(void)
{
    forwards_only_above_the_threshold();
    ignores_a_threshold_that_is_not_a_finite_number();
    reset_clears_the_counters_and_reports_them();
    if (failures != 0)
    {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("filter tests passed\n");
    return 0;
}
