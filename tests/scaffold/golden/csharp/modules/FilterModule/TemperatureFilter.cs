namespace FilterModule
{
    using System.Collections.Generic;
    using System.Text.Json;
    using System.Threading;

    // The module's logic, free of any SDK type so that it can be unit tested as is.
    public sealed class TemperatureFilter
    {
        public const double DefaultThreshold = 25.0;

        private long received;
        private long forwarded;
        private double threshold = DefaultThreshold;

        public double Threshold => Volatile.Read(ref this.threshold);

        public long Received => Interlocked.Read(ref this.received);

        public long Forwarded => Interlocked.Read(ref this.forwarded);

        // True when the JSON body has a numeric machine.temperature above the threshold.
        public bool ShouldForward(string body)
        {
            Interlocked.Increment(ref this.received);
            double? temperature = MachineTemperature(body);
            if (temperature is null || temperature.Value <= this.Threshold)
            {
                return false;
            }

            Interlocked.Increment(ref this.forwarded);
            return true;
        }

        // Reads TemperatureThreshold from desired properties (a full set or a patch);
        // returns true when the threshold changed. Non-numeric values are ignored.
        public bool ApplyDesired(string desiredJson)
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(desiredJson);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("TemperatureThreshold", out JsonElement value)
                    && value.ValueKind == JsonValueKind.Number
                    && value.TryGetDouble(out double parsed)
                    && !double.IsNaN(parsed)
                    && !double.IsInfinity(parsed))
                {
                    double previous = Interlocked.Exchange(ref this.threshold, parsed);
                    return previous != parsed;
                }
            }
            catch (JsonException)
            {
                // not JSON: keep the current threshold
            }

            return false;
        }

        public void Reset()
        {
            Interlocked.Exchange(ref this.received, 0);
            Interlocked.Exchange(ref this.forwarded, 0);
        }

        public string ReportedJson()
        {
            var state = new Dictionary<string, object>
            {
                ["TemperatureThreshold"] = this.Threshold,
                ["messagesReceived"] = this.Received,
                ["messagesForwarded"] = this.Forwarded,
            };
            return JsonSerializer.Serialize(state);
        }

        public static double? MachineTemperature(string body)
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("machine", out JsonElement machine)
                    && machine.ValueKind == JsonValueKind.Object
                    && machine.TryGetProperty("temperature", out JsonElement temperature)
                    && temperature.ValueKind == JsonValueKind.Number
                    && temperature.TryGetDouble(out double value))
                {
                    return value;
                }
            }
            catch (JsonException)
            {
                // not JSON: nothing to compare
            }

            return null;
        }
    }
}
