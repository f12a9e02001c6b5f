package io.vmrdma.nic.udp.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma NIC binding: UDP",
        description = "vmrdma frames in UDP datagrams, one frame per datagram, through one socket")
@interface UdpConfig {

    @AttributeDefinition(name = "Bind address", description = "IP address literal to bind: 0.0.0.0 or :: for every "
            + "interface, 192.0.2.1, 2001:db8::1, or fe80::1%eth0 for IPv6 link-local (the scope is needed to reach "
            + "link-local peers)")
    String bindAddress() default "0.0.0.0";

    @AttributeDefinition(name = "Port", description = "UDP port, 1 to 65535 (0: any free port)", min = "0",
            max = "65535")
    int port() default UdpSettings.DEFAULT_PORT;

    @AttributeDefinition(name = "MTU", description = "Largest vmrdma frame = UDP payload, 1452 to 65507; the link "
            + "MTU less 28 (IPv4) or 48 (IPv6) bytes avoids IP fragmentation", min = "1452", max = "65507")
    int mtu() default UdpSettings.DEFAULT_MTU;

    @AttributeDefinition(name = "Receive buffer bytes", description = "SO_RCVBUF asked of the kernel (capped by "
            + "net.core.rmem_max)")
    int receiveBufferBytes() default UdpSettings.DEFAULT_SOCKET_BUFFER;

    @AttributeDefinition(name = "Send buffer bytes", description = "SO_SNDBUF asked of the kernel (capped by "
            + "net.core.wmem_max)")
    int sendBufferBytes() default UdpSettings.DEFAULT_SOCKET_BUFFER;

    @AttributeDefinition(name = "Batch size", description = "Datagrams per receive batch and per transmit batch, "
            + "1 to 1024", min = "1", max = "1024")
    int batchSize() default UdpSettings.DEFAULT_BATCH;

    @AttributeDefinition(name = "Address cache size", description = "Senders whose link addresses are kept; "
            + "beyond it a datagram from another endpoint allocates its address", min = "1", max = "65536")
    int addressCacheSize() default UdpSettings.DEFAULT_ADDRESS_CACHE;

    @AttributeDefinition(name = "UDP_SEGMENT", description = "Send runs of same-sized frames to one peer as one "
            + "super-datagram the kernel (or the NIC) cuts into one datagram per frame (Linux 4.18); false: one send "
            + "per datagram")
    boolean udpSegment() default true;

    @AttributeDefinition(name = "UDP_GRO", description = "Receive datagrams coalesced by the kernel, split back into "
            + "frames by the binding (Linux 5.0); false: one receive per datagram")
    boolean udpGro() default true;
}
