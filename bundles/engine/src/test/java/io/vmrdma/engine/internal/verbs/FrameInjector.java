package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.engine.internal.auth.NodeAuth;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A hostile host on the segment: puts well-formed frames it wrote by hand on the wire, from any port (so with any
 * source address it likes), their CRCs sealed as a genuine sender's would be.
 */
final class FrameInjector {

    /** Writes a frame's header (base and extension) and payload at {@code at}. */
    interface Fields {
        void write(UnsafeBuffer frame, int at);
    }

    /**
     * A cluster of {@code nodes} nodes at MTU 9000 for an attack to run against, with frame authentication on (the
     * injector then seals frames as the node they name would: a host that holds the cluster secret and lies) or off.
     */
    static Cluster cluster(boolean authenticated, int nodes, long seed) {
        Cluster c = new Cluster(nodes, 9000, Faults.NONE, seed);
        return authenticated ? c : c.authenticationOff();
    }

    private final FrameCheck check = new FrameCheck();
    private final Insider insider = new Insider();
    private final FrameClaim claim = new FrameClaim();

    /**
     * Sends a frame of {@code type} with {@code payloadLength} payload bytes from {@code from} to {@code to}. When
     * {@code c} authenticates its frames, the frame is sealed as the node it names would seal it (a host that holds
     * the cluster secret and lies), with that node's epoch and counter when it is one of {@code c}'s.
     */
    void send(Cluster c, LoopbackPort from, LinkAddress to, FrameType type, int payloadLength, Fields fields) {
        boolean authenticated = c.node(1).transport().nodeAuth() != null;
        int length = Frame.length(type.headerLength(), payloadLength, authenticated);
        assertThat(from.tryClaim(to, length, claim)).as("room on the wire").isTrue();
        UnsafeBuffer frame = new UnsafeBuffer(claim.buffer());
        frame.setMemory(claim.offset(), length, (byte) 0);
        fields.write(frame, claim.offset());
        int src = Frame.srcNode(frame, claim.offset());
        if (!authenticated) {
            check.seal(claim.buffer(), claim.offset(), type.headerLength(), payloadLength);
        } else if (src >= 1 && src <= c.engines().size()) {
            insider.sealAs(c.node(src), claim.buffer(), claim.offset(), type.headerLength(), payloadLength);
        } else {
            insider.sealAs(new NodeAuth(Cluster.KEYS, src), claim.buffer(), claim.offset(), type.headerLength(),
                    payloadLength);
        }
        from.commit(claim, length);
    }

    /**
     * Sends a frame of {@code type} without payload to queue pair {@code target}, in the name of node {@code from} and
     * through that node's own port, addressed as the queue pair's peer would address it; {@code fields} then writes
     * the extension (and may overwrite any of that).
     */
    void sendAsPeer(Cluster c, int from, Qp target, FrameType type, int aux, Fields fields) {
        int node = target.address().node();
        send(c, c.ports().get(from - 1), c.wire().address(node), type, 0, (f, at) -> {
            Frame.writeBase(f, at, type, 0, from, node, target.pkey(), 0, target.address().qpn(),
                    target.remote().qpn(), 0, aux);
            fields.write(f, at);
        });
    }
}
