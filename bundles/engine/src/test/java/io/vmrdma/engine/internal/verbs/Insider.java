package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;

import io.vmrdma.engine.internal.auth.NodeAuth;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Seals frames written by hand as a node holding the cluster secret would: the AUTH flag, the header CRC, then the
 * trailer. Frames sealed as a running engine take its epoch and its next counter, so its peers believe them; tests
 * of what a host without the secret can do seal them otherwise (or not at all).
 */
final class Insider {

    private final FrameCheck check = new FrameCheck();

    /** Bytes of an authenticated frame of {@code type} with {@code payloadLength} payload bytes. */
    static int length(FrameType type, int payloadLength) {
        return Frame.length(type.headerLength(), payloadLength, true);
    }

    /**
     * Seals the frame at {@code at} as {@code sender} would (its source node is the sender's), for the node its
     * header names or, for a discovery HELLO, for every node.
     */
    void sealAs(VerbsEngine sender, ByteBuffer buffer, int at, int headerLength, int payloadLength) {
        sealAs(sender.transport().nodeAuth(), buffer, at, headerLength, payloadLength);
    }

    /** As above, for a node that need not be running: {@code auth} is its epoch, counter and keys. */
    void sealAs(NodeAuth auth, ByteBuffer buffer, int at, int headerLength, int payloadLength) {
        UnsafeBuffer frame = new UnsafeBuffer(buffer);
        frame.putShort(at + Frame.FLAGS_OFFSET, (short) (Frame.flags(frame, at) | Frame.FLAG_AUTH), Frame.ORDER);
        check.sealHeader(buffer, at, headerLength);
        int dst = Frame.dstNode(frame, at);
        boolean discovery = Frame.type(frame, at) == FrameType.HELLO.code()
                && (Frame.flags(frame, at) & Extension.Hello.FLAG_DISCOVERY) != 0;
        if (discovery) {
            auth.sealDiscovery(buffer, at, headerLength + payloadLength);
        } else {
            auth.seal(buffer, at, headerLength + payloadLength, auth.peer(dst).out);
        }
    }
}
