package com.edgemodule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TemperatureFilterTest
{
    @Test
    void forwardsOnlyAboveTheThreshold()
    {
        TemperatureFilter filter = new TemperatureFilter();
        assertTrue(filter.applyThreshold(30));

        assertTrue(filter.shouldForward(30.5));
        assertFalse(filter.shouldForward(30.0));
        assertFalse(filter.shouldForward(12.0));
        assertFalse(filter.shouldForward(null));
        assertEquals(4, filter.getReceived());
        assertEquals(1, filter.getForwarded());
    }

    @Test
    void ignoresANonNumericThreshold()
    {
        TemperatureFilter filter = new TemperatureFilter();
        assertFalse(filter.applyThreshold("high"));
        assertFalse(filter.applyThreshold(null));
        assertFalse(filter.applyThreshold(Double.NaN));
        assertEquals(TemperatureFilter.DEFAULT_THRESHOLD, filter.getThreshold());
    }

    @Test
    void resetClearsTheCounters()
    {
        TemperatureFilter filter = new TemperatureFilter();
        filter.shouldForward(99.0);
        filter.reset();
        assertEquals(0L, filter.reported().get("messagesForwarded"));
        assertEquals(0L, filter.reported().get("messagesReceived"));
    }
}
