/* The module's logic, free of any SDK type so that it can be unit tested as is. */
#ifndef FILTER_H
#define FILTER_H

#define FILTER_DEFAULT_THRESHOLD 25.0

typedef struct FILTER_TAG
{
    double threshold;
    unsigned long received;
    unsigned long forwarded;
} FILTER;

void filter_init(FILTER* filter);

/* Counts a message; returns 1 when it has a temperature (has_temperature != 0) above the
   threshold, so it is to be forwarded, else 0. */
int filter_should_forward(FILTER* filter, int has_temperature, double temperature);

/* Applies a TemperatureThreshold from the twin; returns 1 when the threshold changed,
   0 when the value is unchanged or not a finite number. */
int filter_apply_threshold(FILTER* filter, double threshold);

/* Clears the counters (the threshold stays: it belongs to the twin). */
void filter_reset(FILTER* filter);

/* Writes the reported properties JSON into buffer; returns the length, or -1 when
   buffer is too small. */
int filter_reported_json(const FILTER* filter, char* buffer, unsigned long size);

#endif /* FILTER_H */
