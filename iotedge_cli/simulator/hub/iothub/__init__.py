"""The IoT Hub layer of the simulator hub: sans-io topics, property bags, SAS, identities,
authorization, direct methods and twins (no sockets, no clocks, no storage)."""
