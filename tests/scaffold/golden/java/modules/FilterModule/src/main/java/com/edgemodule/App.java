package com.edgemodule;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import com.microsoft.azure.sdk.iot.device.IotHubClientProtocol;
import com.microsoft.azure.sdk.iot.device.IotHubMessageResult;
import com.microsoft.azure.sdk.iot.device.Message;
import com.microsoft.azure.sdk.iot.device.MessageProperty;
import com.microsoft.azure.sdk.iot.device.ModuleClient;
import com.microsoft.azure.sdk.iot.device.twin.DirectMethodResponse;
import com.microsoft.azure.sdk.iot.device.twin.Twin;
import com.microsoft.azure.sdk.iot.device.twin.TwinCollection;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * FilterModule: receives messages on "input1" and forwards those whose
 * machine.temperature exceeds the threshold to "output1". The threshold comes from the module
 * twin's desired property "TemperatureThreshold"; the direct method "reset" clears the
 * counters; SIGTERM (docker stop) closes the client cleanly.
 */
public final class App
{
    private static final String INPUT_NAME = "input1";
    private static final String OUTPUT_NAME = "output1";

    private static final TemperatureFilter FILTER = new TemperatureFilter();

    private App()
    {
    }

    public static void main(String[] args) throws Exception
    {
        ModuleClient client = ModuleClient.createFromEnvironment(new UnixSocketChannel(), IotHubClientProtocol.MQTT);
        CountDownLatch stopped = new CountDownLatch(1);

        // docker stop sends SIGTERM: the JVM runs shutdown hooks; close the client there.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("FilterModule: shutting down");
            try
            {
                client.close();
            }
            catch (Exception e)
            {
                System.err.println("FilterModule: error while closing: " + e.getMessage());
            }
            stopped.countDown();
        }));

        // SDK callbacks run on the SDK's threads: only asynchronous client calls in them.
        client.setMessageCallback(INPUT_NAME, (message, context) -> onInput1(client, message), null);
        client.open(true);
        System.out.println("FilterModule: connected to the IoT Edge hub");

        client.subscribeToDesiredProperties((twin, context) -> onDesired(client, twin), null);
        Twin twin = client.getTwin();
        FILTER.applyThreshold(twin.getDesiredProperties().get("TemperatureThreshold"));
        client.updateReportedProperties(reported());

        client.subscribeToMethods((methodName, payload, context) -> {
            if (!"reset".equals(methodName))
            {
                return new DirectMethodResponse(404, "unknown method " + methodName);
            }
            FILTER.reset();
            reportAsync(client);
            return new DirectMethodResponse(200, FILTER.reported());
        }, null);

        stopped.await();
    }

    private static IotHubMessageResult onInput1(ModuleClient client, Message message)
    {
        byte[] body = message.getBytes();
        if (!FILTER.shouldForward(machineTemperature(new String(body, StandardCharsets.UTF_8))))
        {
            return IotHubMessageResult.COMPLETE;
        }

        Message forwarded = new Message(body);
        forwarded.setContentType(message.getContentType());
        forwarded.setContentEncoding(message.getContentEncoding());
        for (MessageProperty property : message.getProperties())
        {
            forwarded.setProperty(property.getName(), property.getValue());
        }
        client.sendEventAsync(forwarded, (sent, exception, context) -> {
            if (exception != null)
            {
                System.err.println("FilterModule: sending to " + OUTPUT_NAME + " failed: " + exception.getMessage());
            }
        }, null, OUTPUT_NAME);
        return IotHubMessageResult.COMPLETE;
    }

    private static void onDesired(ModuleClient client, Twin patch)
    {
        if (FILTER.applyThreshold(patch.getDesiredProperties().get("TemperatureThreshold")))
        {
            System.out.println("FilterModule: TemperatureThreshold is now " + FILTER.getThreshold());
        }
        reportAsync(client);
    }

    private static TwinCollection reported()
    {
        TwinCollection reported = new TwinCollection();
        reported.putAll(FILTER.reported());
        return reported;
    }

    private static void reportAsync(ModuleClient client)
    {
        client.updateReportedPropertiesAsync(reported(), (status, response, exception, context) -> {
            if (exception != null)
            {
                System.err.println("FilterModule: reporting properties failed: " + exception.getMessage());
            }
        }, null);
    }

    /** machine.temperature of a JSON body, or null when the body has no such number. */
    static Double machineTemperature(String body)
    {
        try
        {
            JsonElement root = JsonParser.parseString(body);
            if (!root.isJsonObject())
            {
                return null;
            }
            JsonElement machine = root.getAsJsonObject().get("machine");
            if (machine == null || !machine.isJsonObject())
            {
                return null;
            }
            JsonObject machineObject = machine.getAsJsonObject();
            JsonElement temperature = machineObject.get("temperature");
            if (temperature == null || !temperature.isJsonPrimitive() || !temperature.getAsJsonPrimitive().isNumber())
            {
                return null;
            }
            return temperature.getAsDouble();
        }
        catch (JsonSyntaxException e)
        {
            return null;
        }
    }
}
