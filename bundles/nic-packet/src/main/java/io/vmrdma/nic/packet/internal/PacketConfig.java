package io.vmrdma.nic.packet.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma NIC binding: raw Ethernet",
        description = "vmrdma frames in raw Ethernet frames on one interface, through an AF_PACKET socket "
                + "(needs CAP_NET_RAW)")
@interface PacketConfig {

    @AttributeDefinition(name = "Interface", description = "Network interface to send and receive on, such as "
            + "eth0 or veth0 (in the network namespace the framework runs in)")
    String interfaceName() default PacketSettings.DEFAULT_INTERFACE;

    @AttributeDefinition(name = "EtherType", description = "EtherType of vmrdma frames, 0x0600 to 0xFFFF, "
            + "in hex (0x88B5) or decimal; every node of a cluster uses the same")
    String etherType() default PacketSettings.DEFAULT_ETHER_TYPE_TEXT;

    @AttributeDefinition(name = "Batch size", description = "Frames per recvmmsg and per sendmmsg, 1 to 1024",
            min = "1", max = "1024")
    int batchSize() default PacketSettings.DEFAULT_BATCH;

    @AttributeDefinition(name = "Socket buffer bytes", description = "SO_RCVBUF and SO_SNDBUF asked of the kernel "
            + "(forced past net.core.rmem_max / wmem_max where the process has CAP_NET_ADMIN)")
    int socketBufferBytes() default PacketSettings.DEFAULT_SOCKET_BUFFER;

    @AttributeDefinition(name = "Bypass the qdisc", description = "PACKET_QDISC_BYPASS: hand frames straight to "
            + "the driver. Faster, but traffic control on the interface (tbf shaping, for one) no longer applies")
    boolean qdiscBypass() default false;
}
