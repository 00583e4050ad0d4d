package com.edgemodule;

import com.microsoft.azure.sdk.iot.device.hsm.UnixDomainSocketChannel;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The SDK asks for a unix domain socket when the Edge workload API is at unix:///...
 * (IOTEDGE_WORKLOADURI); Java 16+ has them built in, so no extra library is needed.
 */
final class UnixSocketChannel implements UnixDomainSocketChannel
{
    private SocketChannel channel;

    @Override
    public void open(String address) throws IOException
    {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(address));
    }

    @Override
    public void write(byte[] output) throws IOException
    {
        ByteBuffer buffer = ByteBuffer.wrap(output);
        while (buffer.hasRemaining())
        {
            channel.write(buffer);
        }
    }

    @Override
    public int read(byte[] inputBuffer) throws IOException
    {
        return channel.read(ByteBuffer.wrap(inputBuffer));
    }

    @Override
    public void close() throws IOException
    {
        if (channel != null)
        {
            channel.close();
        }
    }
}
