"""IoT Hub from the service side: devices, twins and deployments through ``azure-iot-hub``.

A thin layer over the SDK's registry and configuration managers, which talk HTTPS to a real
IoT Hub or to the simulator's service endpoint alike. Connection strings are parsed and checked
here (:mod:`.connection`), never printed or logged, and redacted from error messages; service
failures become :class:`~iotedge_cli.errors.EdgectlError` s with a hint (:mod:`.errors`).
Only :mod:`.service` imports ``azure``, inside the functions that call it.
"""
