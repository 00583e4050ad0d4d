"""edgectl simulate: a local, offline IoT Edge runtime."""
