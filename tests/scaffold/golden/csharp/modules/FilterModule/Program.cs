namespace FilterModule
{
    using System;
    using System.Runtime.Loader;
    using System.Text;
    using System.Threading;
    using System.Threading.Tasks;
    using Microsoft.Azure.Devices.Client;
    using Microsoft.Azure.Devices.Client.Transport.Mqtt;
    using Microsoft.Azure.Devices.Shared;

    // FilterModule: receives messages on "input1", forwards those whose
    // machine.temperature exceeds the threshold to "output1". The threshold comes from
    // the module twin's desired property "TemperatureThreshold"; the direct method
    // "reset" clears the counters. SIGTERM (docker stop) closes the client cleanly.
    internal static class Program
    {
        private const string InputName = "input1";
        private const string OutputName = "output1";

        private static readonly TemperatureFilter Filter = new TemperatureFilter();

        // Process-lifetime objects (never disposed): the Unloading handler may run after Main.
        private static readonly CancellationTokenSource Shutdown = new CancellationTokenSource();
        private static readonly ManualResetEventSlim Stopped = new ManualResetEventSlim(false);

        public static async Task<int> Main()
        {
            // docker stop sends SIGTERM: .NET starts unloading; cancel the work and wait
            // (briefly) until the client is closed so the process exits cleanly.
            AssemblyLoadContext.Default.Unloading += _ =>
            {
                Shutdown.Cancel();
                Stopped.Wait(TimeSpan.FromSeconds(10));
            };
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                Shutdown.Cancel();
            };

            try
            {
                await RunAsync(Shutdown.Token).ConfigureAwait(false);
                return 0;
            }
            catch (OperationCanceledException)
            {
                return 0; // stopped while connecting
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"FilterModule failed: {ex.Message}");
                return 1;
            }
            finally
            {
                Stopped.Set();
            }
        }

        private static async Task RunAsync(CancellationToken token)
        {
            var mqtt = new MqttTransportSettings(TransportType.Mqtt_Tcp_Only);
            ITransportSettings[] settings = { mqtt };

            using ModuleClient client = await ModuleClient.CreateFromEnvironmentAsync(settings).ConfigureAwait(false);
            await client.OpenAsync(token).ConfigureAwait(false);
            Console.WriteLine("FilterModule: connected to the IoT Edge hub");

            Twin twin = await client.GetTwinAsync(token).ConfigureAwait(false);
            Filter.ApplyDesired(twin.Properties.Desired.ToJson());
            await ReportAsync(client, token).ConfigureAwait(false);

            await client.SetDesiredPropertyUpdateCallbackAsync(OnDesiredPropertiesUpdate, client, token).ConfigureAwait(false);
            await client.SetMethodHandlerAsync("reset", OnReset, client, token).ConfigureAwait(false);
            await client.SetInputMessageHandlerAsync(InputName, OnInput1, client, token).ConfigureAwait(false);

            try
            {
                await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // shutdown requested
            }

            Console.WriteLine("FilterModule: shutting down");
            await client.CloseAsync(CancellationToken.None).ConfigureAwait(false);
        }

        private static async Task<MessageResponse> OnInput1(Message message, object userContext)
        {
            var client = (ModuleClient)userContext;
            byte[] body = message.GetBytes();
            if (!Filter.ShouldForward(Encoding.UTF8.GetString(body)))
            {
                return MessageResponse.Completed;
            }

            using var forwarded = new Message(body)
            {
                ContentType = message.ContentType,
                ContentEncoding = message.ContentEncoding,
            };
            foreach (var property in message.Properties)
            {
                forwarded.Properties.Add(property.Key, property.Value);
            }

            await client.SendEventAsync(OutputName, forwarded).ConfigureAwait(false);
            return MessageResponse.Completed;
        }

        private static async Task OnDesiredPropertiesUpdate(TwinCollection desired, object userContext)
        {
            if (Filter.ApplyDesired(desired.ToJson()))
            {
                Console.WriteLine($"FilterModule: TemperatureThreshold is now {Filter.Threshold}");
            }

            await ReportAsync((ModuleClient)userContext, CancellationToken.None).ConfigureAwait(false);
        }

        private static async Task<MethodResponse> OnReset(MethodRequest request, object userContext)
        {
            Filter.Reset();
            await ReportAsync((ModuleClient)userContext, CancellationToken.None).ConfigureAwait(false);
            return new MethodResponse(Encoding.UTF8.GetBytes(Filter.ReportedJson()), 200);
        }

        private static Task ReportAsync(ModuleClient client, CancellationToken token)
        {
            var reported = new TwinCollection(Filter.ReportedJson());
            return client.UpdateReportedPropertiesAsync(reported, token);
        }
    }
}
