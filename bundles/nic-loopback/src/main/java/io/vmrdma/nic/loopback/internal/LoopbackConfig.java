package io.vmrdma.nic.loopback.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "vmrdma NIC binding: loopback",
        description = "An in-memory wire inside this JVM; frames reach the other loopback ports of the same JVM")
@interface LoopbackConfig {

    @AttributeDefinition(name = "Port", description = "This port's number on the wire, 0 to 1023", min = "0",
            max = "1023")
    int port() default 1;

    @AttributeDefinition(name = "MTU", description = "Largest frame in bytes, 1500 to 65535", min = "1500",
            max = "65535")
    int mtu() default 65535;

    @AttributeDefinition(name = "Inbox bytes",
            description = "Receive buffer size, a power of two; small enough to stay in cache (1 MiB: 15 frames of 64 KiB)")
    int inboxBytes() default 1024 * 1024;
}
