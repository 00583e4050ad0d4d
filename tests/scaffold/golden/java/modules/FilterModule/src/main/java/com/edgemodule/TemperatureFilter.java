package com.edgemodule;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The module's logic, free of any SDK type so that it can be unit tested as is: forward a
 * message when its machine.temperature is above the threshold.
 */
public final class TemperatureFilter
{
    public static final double DEFAULT_THRESHOLD = 25.0;

    private final AtomicLong received = new AtomicLong();
    private final AtomicLong forwarded = new AtomicLong();
    private volatile double threshold = DEFAULT_THRESHOLD;

    public double getThreshold()
    {
        return threshold;
    }

    public long getReceived()
    {
        return received.get();
    }

    public long getForwarded()
    {
        return forwarded.get();
    }

    /** True when temperature (null if the message has none) is above the threshold. */
    public boolean shouldForward(Double temperature)
    {
        received.incrementAndGet();
        if (temperature == null || temperature.isNaN() || temperature <= threshold)
        {
            return false;
        }
        forwarded.incrementAndGet();
        return true;
    }

    /**
     * Applies the desired property TemperatureThreshold (any value from a twin: a number or
     * null when absent); returns true when the threshold changed. Non-numbers are ignored.
     */
    public boolean applyThreshold(Object value)
    {
        if (!(value instanceof Number))
        {
            return false;
        }
        double parsed = ((Number) value).doubleValue();
        if (Double.isNaN(parsed) || Double.isInfinite(parsed) || parsed == threshold)
        {
            return false;
        }
        threshold = parsed;
        return true;
    }

    public void reset()
    {
        received.set(0);
        forwarded.set(0);
    }

    /** The state reported as the module twin's reported properties. */
    public Map<String, Object> reported()
    {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("TemperatureThreshold", threshold);
        state.put("messagesReceived", received.get());
        state.put("messagesForwarded", forwarded.get());
        return state;
    }
}
