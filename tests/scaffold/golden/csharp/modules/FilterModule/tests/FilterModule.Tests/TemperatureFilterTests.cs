namespace FilterModule.Tests
{
    using Xunit;

    public class TemperatureFilterTests
    {
        [Fact]
        public void ForwardsOnlyAboveTheThreshold()
        {
            var filter = new TemperatureFilter();
            Assert.True(filter.ApplyDesired("{\"TemperatureThreshold\": 30}"));

            Assert.True(filter.ShouldForward("{\"machine\": {\"temperature\": 30.5}}"));
            Assert.False(filter.ShouldForward("{\"machine\": {\"temperature\": 30}}"));
            Assert.False(filter.ShouldForward("{\"machine\": {\"temperature\": 12}}"));
            Assert.Equal(3, filter.Received);
            Assert.Equal(1, filter.Forwarded);
        }

        [Theory]
        [InlineData("not json")]
        [InlineData("[1, 2]")]
        [InlineData("{\"machine\": {}}")]
        [InlineData("{\"machine\": {\"temperature\": \"hot\"}}")]
        public void DropsMessagesWithoutANumericTemperature(string body)
        {
            Assert.False(new TemperatureFilter().ShouldForward(body));
        }

        [Fact]
        public void IgnoresANonNumericThreshold()
        {
            var filter = new TemperatureFilter();
            Assert.False(filter.ApplyDesired("{\"TemperatureThreshold\": \"high\"}"));
            Assert.False(filter.ApplyDesired("{\"$version\": 4}"));
            Assert.Equal(TemperatureFilter.DefaultThreshold, filter.Threshold);
        }

        [Fact]
        public void ResetClearsTheCounters()
        {
            var filter = new TemperatureFilter();
            filter.ShouldForward("{\"machine\": {\"temperature\": 99}}");
            filter.Reset();
            Assert.Equal(0, filter.Received);
            Assert.Equal(0, filter.Forwarded);
            Assert.Contains("\"messagesForwarded\":0", filter.ReportedJson());
        }
    }
}
