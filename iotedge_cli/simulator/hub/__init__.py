"""The simulator hub: an IoT Hub-compatible MQTT hub."""
