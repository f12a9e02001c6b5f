package io.vmrdma.itests;

import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.engine.internal.auth.ClusterSecret;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.nic.udp.UdpAddress;

/**
 * A second vmrdma node for {@link NicHotSwapIT}: another host as far as the container's engine can tell. A plain
 * JVM (no OSGi) running the engine's {@link VerbsEngine} on its own {@code nic.udp} port, made from the
 * distribution's own jars; one domain with a registered window that accepts every connection to a service and
 * hands the window's address and rkey over as private data (12 bytes, as the benchmark core's endpoints do).
 * Passive: it only answers (acknowledges, serves READs), so its timers never give up on a node whose binding is
 * being swapped.
 *
 * <p>Arguments: {@code NODE_ID UDP_BIND PEER_NODE PEER_UDP SERVICE WINDOW_BYTES SECRET_FILE}: frames are
 * authenticated with the container's cluster secret, as between two nodes of a cluster. Prints {@code READY} once
 * listening; runs until killed.
 */
public final class RemoteNode {

    private RemoteNode() {
    }

    public static void main(String[] args) throws Exception {
        int nodeId = Integer.parseInt(args[0]);
        String bind = args[1];
        int peerNode = Integer.parseInt(args[2]);
        String peer = args[3];
        long service = Long.parseLong(args[4]);
        int windowBytes = Integer.parseInt(args[5]);

        VerbsEngine engine = new VerbsEngine(nodeId, System::nanoTime, null);
        engine.authentication(new FrameKeys(ClusterSecret.loadOrCreate(Path.of(args[6]))));
        engine.nic(udpPort(bind));
        engine.peer(peerNode, UdpAddress.parse(peer));
        VerbsContext verbs = engine.openDomain(1, "remote-window");
        ProtectionDomain pd = verbs.allocPd();
        CompletionQueue cq = verbs.createCq(4096);
        MemoryRegion window = verbs.regMr(pd, ByteBuffer.allocateDirect(windowBytes), 0x7000_0000L, AccessFlags.ALL);
        byte[] key = ByteBuffer.allocate(12).putLong(window.address()).putInt(window.rkey()).array();
        verbs.listen(service);
        System.out.println("READY node " + nodeId + " on " + bind);
        System.out.flush();
        List<QueuePair> accepted = new ArrayList<>();
        CmEvent event = new CmEvent();
        while (true) {
            int work = engine.doWork();
            if (verbs.pollCmEvent(event)) {
                if (event.type() == CmEventType.CONNECT_REQUEST) {
                    QueuePair qp = verbs.createQp(new QpInitAttributes().pd(pd).sendCq(cq).recvCq(cq).maxSendWr(64)
                            .maxRecvWr(64).maxSge(1));
                    verbs.accept(event.connectionId(), qp, key);
                    accepted.add(qp);
                }
                System.out.println("CM " + event.type());
                System.out.flush();
                work++;
            }
            if (work == 0) {
                LockSupport.parkNanos(20_000);
            }
        }
    }

    /**
     * A {@code nic.udp} port bound to {@code endpoint}, made as Declarative Services makes it: its configuration
     * annotation implemented by a proxy that answers {@code bindAddress} and {@code port} and every other attribute
     * with its default.
     */
    static NicPort udpPort(String endpoint) throws Exception {
        int colon = endpoint.lastIndexOf(':');
        String address = endpoint.substring(0, colon);
        int port = Integer.parseInt(endpoint.substring(colon + 1));
        Class<?> config = Class.forName("io.vmrdma.nic.udp.internal.UdpConfig");
        Object settings = Proxy.newProxyInstance(config.getClassLoader(), new Class<?>[] {config},
                (proxy, method, arguments) -> switch (method.getName()) {
                    case "bindAddress" -> address;
                    case "port" -> port;
                    case "annotationType" -> config;
                    default -> method.getDefaultValue();
                });
        return (NicPort) Class.forName("io.vmrdma.nic.udp.internal.UdpPort").getConstructor(config)
                .newInstance(settings);
    }
}
