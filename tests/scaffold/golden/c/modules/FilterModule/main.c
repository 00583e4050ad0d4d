/*
 * FilterModule: receives messages on "input1" and forwards those whose
 * machine.temperature exceeds the threshold to "output1". The threshold comes from the module
 * twin's desired property "TemperatureThreshold"; the direct method "reset" clears the
 * counters; SIGTERM (docker stop) ends the work loop and destroys the client cleanly.
 *
 * The _LL_ client does all its work, callbacks included, inside IoTHubModuleClient_LL_DoWork
 * on this one thread, so the callbacks may use the filter without locks.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azure_c_shared_utility/threadapi.h"
#include "iothub.h"
#include "iothub_message.h"
#include "iothub_module_client_ll.h"
#include "iothubtransportmqtt.h"
#include "parson.h"

#include "filter.h"

#define INPUT_NAME "input1"
#define OUTPUT_NAME "output1"

static volatile sig_atomic_t stop_requested = 0;
static int report_pending = 0;
static FILTER filter;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

/* A NUL-terminated copy of a byte buffer (the SDK's are not terminated); free() it. */
static char* copy_text(const unsigned char* bytes, size_t size)
{
    char* text = (char*)malloc(size + 1);
    if (text != NULL)
    {
        memcpy(text, bytes, size);
        text[size] = '\0';
    }
    return text;
}

/* Finds machine.temperature in a JSON message body; returns 1 and sets *temperature if found. */
static int message_temperature(IOTHUB_MESSAGE_HANDLE message, double* temperature)
{
    const unsigned char* bytes = NULL;
    size_t size = 0;
    char* text;
    JSON_Value* root;
    JSON_Value* value;
    int found = 0;

    if (IoTHubMessage_GetContentType(message) == IOTHUBMESSAGE_STRING)
    {
        const char* string = IoTHubMessage_GetString(message);
        if (string == NULL)
        {
            return 0;
        }
        bytes = (const unsigned char*)string;
        size = strlen(string);
    }
    else if (IoTHubMessage_GetByteArray(message, &bytes, &size) != IOTHUB_MESSAGE_OK)
    {
        return 0;
    }

    text = copy_text(bytes, size);
    if (text == NULL)
    {
        return 0;
    }
    root = json_parse_string(text);
    free(text);
    if (root == NULL)
    {
        return 0;
    }
    value = json_object_dotget_value(json_value_get_object(root), "machine.temperature");
    if (value != NULL && json_value_get_type(value) == JSONNumber)
    {
        *temperature = json_value_get_number(value);
        found = 1;
    }
    json_value_free(root);
    return found;
}

static void on_sent(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void* context)
{
    (void)context;
    if (result != IOTHUB_CLIENT_CONFIRMATION_OK)
    {
        fprintf(stderr, "FilterModule: sending to %s failed (result %d)\n", OUTPUT_NAME, (int)result);
    }
}

static IOTHUBMESSAGE_DISPOSITION_RESULT on_input1(IOTHUB_MESSAGE_HANDLE message, void* context)
{
    IOTHUB_MODULE_CLIENT_LL_HANDLE client = (IOTHUB_MODULE_CLIENT_LL_HANDLE)context;
    double temperature = 0.0;
    int has_temperature = message_temperature(message, &temperature);
    IOTHUB_MESSAGE_HANDLE forwarded;
    IOTHUB_CLIENT_RESULT result;

    if (!filter_should_forward(&filter, has_temperature, temperature))
    {
        return IOTHUBMESSAGE_ACCEPTED;
    }

    /* The clone keeps the body, content type and application properties. */
    forwarded = IoTHubMessage_Clone(message);
    if (forwarded == NULL)
    {
        return IOTHUBMESSAGE_ABANDONED;
    }
    result = IoTHubModuleClient_LL_SendEventToOutputAsync(client, forwarded, OUTPUT_NAME, on_sent, NULL);
    IoTHubMessage_Destroy(forwarded); /* the client keeps its own copy */
    return result == IOTHUB_CLIENT_OK ? IOTHUBMESSAGE_ACCEPTED : IOTHUBMESSAGE_ABANDONED;
}

static void on_twin(DEVICE_TWIN_UPDATE_STATE update_state, const unsigned char* payload, size_t size, void* context)
{
    char* text = copy_text(payload, size);
    JSON_Value* root;
    JSON_Object* desired;
    JSON_Value* value;
    (void)context;

    if (text == NULL)
    {
        return;
    }
    root = json_parse_string(text);
    free(text);
    if (root == NULL)
    {
        return;
    }
    /* The first call has the whole twin; later ones only the desired patch. */
    desired = json_value_get_object(root);
    if (update_state == DEVICE_TWIN_UPDATE_COMPLETE)
    {
        desired = json_object_get_object(desired, "desired");
    }
    value = json_object_get_value(desired, "TemperatureThreshold");
    if (value != NULL && json_value_get_type(value) == JSONNumber
        && filter_apply_threshold(&filter, json_value_get_number(value)))
    {
        printf("FilterModule: TemperatureThreshold is now %g\n", filter.threshold);
    }
    json_value_free(root);
    report_pending = 1;
}

static int on_method(const char* method_name, const unsigned char* payload, size_t size,
    unsigned char** response, size_t* response_size, void* context)
{
    char json[256];
    int length;
    int status;
    (void)payload;
    (void)size;
    (void)context;

    if (strcmp(method_name, "reset") == 0)
    {
        filter_reset(&filter);
        report_pending = 1;
        length = filter_reported_json(&filter, json, sizeof(json));
        status = 200;
    }
    else
    {
        length = snprintf(json, sizeof(json), "\"unknown method\"");
        status = 404;
    }

    *response = NULL;
    *response_size = 0;
    if (length > 0)
    {
        /* The SDK frees the response. */
        *response = (unsigned char*)malloc((size_t)length);
        if (*response != NULL)
        {
            memcpy(*response, json, (size_t)length);
            *response_size = (size_t)length;
        }
    }
    return status;
}

static void on_reported(int status_code, void* context)
{
    (void)context;
    if (status_code < 200 || status_code >= 300)
    {
        fprintf(stderr, "FilterModule: reporting properties failed (status %d)\n", status_code);
    }
}

static void report_state(IOTHUB_MODULE_CLIENT_LL_HANDLE client)
{
    char json[256];
    int length = filter_reported_json(&filter, json, sizeof(json));
    if (length > 0
        && IoTHubModuleClient_LL_SendReportedState(client, (const unsigned char*)json, (size_t)length, on_reported, NULL) != IOTHUB_CLIENT_OK)
    {
        fprintf(stderr, "FilterModule: could not queue the reported properties\n");
    }
}

int main(void)
{
    IOTHUB_MODULE_CLIENT_LL_HANDLE client;
    int exit_code = 0;

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    filter_init(&filter);

    if (IoTHub_Init() != 0)
    {
        fprintf(stderr, "FilterModule: IoTHub_Init failed\n");
        return 1;
    }

    client = IoTHubModuleClient_LL_CreateFromEnvironment(MQTT_Protocol);
    if (client == NULL)
    {
        fprintf(stderr, "FilterModule: could not create the module client from the IoT Edge environment\n");
        IoTHub_Deinit();
        return 1;
    }

    if (IoTHubModuleClient_LL_SetInputMessageCallback(client, INPUT_NAME, on_input1, client) != IOTHUB_CLIENT_OK
        || IoTHubModuleClient_LL_SetModuleTwinCallback(client, on_twin, client) != IOTHUB_CLIENT_OK
        || IoTHubModuleClient_LL_SetModuleMethodCallback(client, on_method, client) != IOTHUB_CLIENT_OK)
    {
        fprintf(stderr, "FilterModule: could not register the callbacks\n");
        exit_code = 1;
    }
    else
    {
        printf("FilterModule: running\n");
        while (!stop_requested)
        {
            if (report_pending)
            {
                report_pending = 0;
                report_state(client);
            }
            IoTHubModuleClient_LL_DoWork(client);
            ThreadAPI_Sleep(100);
        }
        printf("FilterModule: shutting down\n");
    }

    IoTHubModuleClient_LL_Destroy(client);
    IoTHub_Deinit();
    return exit_code;
}
