#include "filter.h"

#include <math.h>
#include <stdio.h>

void filter_init(FILTER* filter)
{
    filter->threshold = FILTER_DEFAULT_THRESHOLD;
    filter->received = 0;
    filter->forwarded = 0;
}

int filter_should_forward(FILTER* filter, int has_temperature, double temperature)
{
    filter->received++;
    if (!has_temperature || isnan(temperature) || temperature <= filter->threshold)
    {
        return 0;
    }
    filter->forwarded++;
    return 1;
}

int filter_apply_threshold(FILTER* filter, double threshold)
{
    if (!isfinite(threshold) || threshold == filter->threshold)
    {
        return 0;
    }
    filter->threshold = threshold;
    return 1;
}

void filter_reset(FILTER* filter)
{
    filter->received = 0;
    filter->forwarded = 0;
}

int filter_reported_json(const FILTER* filter, char* buffer, unsigned long size)
{
    int length = snprintf(
        buffer,
        size,
        "{\"TemperatureThreshold\":%.17g,\"messagesReceived\":%lu,\"messagesForwarded\":%lu}",
        filter->threshold,
        filter->received,
        filter->forwarded);
    if (length < 0 || (unsigned long)length >= size)
    {
        return -1;
    }
    return length;
}
