package io.vmrdma.engine.internal.transport;

import java.nio.charset.StandardCharsets;

import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The connection manager's frames (docs/wire-protocol.md §6): CM_REQUEST, CM_REPLY, CM_REJECT and the DISCONNECT pair,
 * written through the transport and read from a received frame. Only the layout lives here; what the fields mean to
 * a connection, and every check of them, is the connection manager's.
 *
 * <pre>
 * CM_REQUEST payload: offered pkeys (u8 count) | private data (u8 length) | pkeys (u16 each) | private data | name
 * CM_REPLY payload:   private data (u8 length) | private data | name
 * CM_REJECT payload:  the reason, UTF-8, at most {@link #MAX_REASON_BYTES}
 * name:               length u8, then UTF-8; a payload that ends before it names none ("")
 * </pre>
 */
public final class CmFrames {

    /** Most bytes of a rejection's reason on the wire. */
    public static final int MAX_REASON_BYTES = 200;

    private final WireTransport wire;

    CmFrames(WireTransport wire) {
        this.wire = wire;
    }

    /** A CM_REQUEST of ours (or a repeat of it) to {@code peer}; nothing when the port is full. */
    public void sendRequest(Peer peer, int srcQpn, long connectionId, long serviceId, int domid, int initialPsn,
                            int[] pkeys, byte[] privateData, byte[] name) {
        int keys = 2 * pkeys.length;
        int payload = 2 + keys + privateData.length + 1 + name.length;
        FrameType type = FrameType.CM_REQUEST;
        int at = wire.begin(peer, type.headerLength(), payload);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), 0, payload, 0, srcQpn, 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, connectionId, Frame.ORDER);
        tx.putLong(at + Extension.Cm.SERVICE_OR_DOMID, serviceId, Frame.ORDER);
        tx.putInt(at + Extension.Cm.DOMID_OR_PKEY, domid, Frame.ORDER);
        tx.putInt(at + Extension.Cm.INITIAL_PSN, initialPsn, Frame.ORDER);
        int p = at + type.headerLength();
        tx.putByte(p, (byte) pkeys.length);
        tx.putByte(p + 1, (byte) privateData.length);
        for (int i = 0; i < pkeys.length; i++) {
            tx.putShort(p + 2 + 2 * i, (short) pkeys[i], Frame.ORDER);
        }
        tx.putBytes(p + 2 + keys, privateData);
        putName(tx, p + 2 + keys + privateData.length, name);
        wire.end(peer, at, type.headerLength(), payload);
    }

    /** A CM_REPLY to {@code peer}'s request {@code connectionId}, from our queue pair {@code srcQpn}. */
    public void sendReply(Peer peer, int pkey, int dstQpn, int srcQpn, long connectionId, int domid, int initialPsn,
                          byte[] privateData, byte[] name) {
        int payload = 1 + privateData.length + 1 + name.length;
        FrameType type = FrameType.CM_REPLY;
        int at = wire.begin(peer, type.headerLength(), payload);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), pkey, payload, dstQpn, srcQpn, 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, connectionId, Frame.ORDER);
        tx.putLong(at + Extension.Cm.SERVICE_OR_DOMID, domid, Frame.ORDER);
        tx.putInt(at + Extension.Cm.DOMID_OR_PKEY, pkey, Frame.ORDER);
        tx.putInt(at + Extension.Cm.INITIAL_PSN, initialPsn, Frame.ORDER);
        int p = at + type.headerLength();
        tx.putByte(p, (byte) privateData.length);
        tx.putBytes(p + 1, privateData);
        putName(tx, p + 1 + privateData.length, name);
        wire.end(peer, at, type.headerLength(), payload);
    }

    /** A CM_REJECT of {@code peer}'s request {@code theirId}, with the reason cut to {@link #MAX_REASON_BYTES}. */
    public void sendReject(Peer peer, long theirId, int clientQpn, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_REASON_BYTES);
        FrameType type = FrameType.CM_REJECT;
        int at = wire.begin(peer, type.headerLength(), length);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), 0, length, clientQpn, 0, 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, theirId, Frame.ORDER);
        tx.putBytes(at + type.headerLength(), text, 0, length);
        wire.end(peer, at, type.headerLength(), length);
    }

    /** A DISCONNECT_REQUEST or DISCONNECT_REPLY for the connection both ends know as {@code connectionId}. */
    public void sendDisconnect(Peer peer, int dstQpn, int srcQpn, int pkey, long connectionId, FrameType type) {
        int at = wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return;
        }
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), pkey, 0, dstQpn, srcQpn, 0, 0);
        tx.putLong(at + Extension.Cm.CONNECTION_ID, connectionId, Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
    }

    private static void putName(MutableDirectBuffer tx, int at, byte[] name) {
        tx.putByte(at, (byte) name.length);
        tx.putBytes(at + 1, name);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Reading a received frame at {@code at}; its payload starts at {@code payload(type, at)}

    public static long connectionId(DirectBuffer rx, int at) {
        return rx.getLong(at + Extension.Cm.CONNECTION_ID, Frame.ORDER);
    }

    /** A request's service id, or a reply's listening domain (as a u64). */
    public static long serviceOrDomid(DirectBuffer rx, int at) {
        return rx.getLong(at + Extension.Cm.SERVICE_OR_DOMID, Frame.ORDER);
    }

    /** A request's requesting domain, or a reply's partition key. */
    public static int domidOrPkey(DirectBuffer rx, int at) {
        return rx.getInt(at + Extension.Cm.DOMID_OR_PKEY, Frame.ORDER);
    }

    public static int initialPsn(DirectBuffer rx, int at) {
        return rx.getInt(at + Extension.Cm.INITIAL_PSN, Frame.ORDER);
    }

    /** Where the payload of a frame of {@code type} at {@code at} starts. */
    public static int payload(FrameType type, int at) {
        return at + type.headerLength();
    }

    /** A CM_REQUEST's count of offered partition keys (0 when the payload is too short to say). */
    public static int offeredCount(DirectBuffer rx, int payload, int payloadLength) {
        return payloadLength < 2 ? 0 : rx.getByte(payload) & 0xFF;
    }

    /** A CM_REQUEST's length of private data (0 when the payload is too short to say). */
    public static int requestPrivateLength(DirectBuffer rx, int payload, int payloadLength) {
        return payloadLength < 2 ? 0 : rx.getByte(payload + 1) & 0xFF;
    }

    /** A CM_REQUEST's offered partition key {@code i}. */
    public static int offeredPkey(DirectBuffer rx, int payload, int i) {
        return rx.getShort(payload + 2 + 2 * i, Frame.ORDER) & 0xFFFF;
    }

    /** Where a CM_REQUEST's private data starts. */
    public static int requestPrivateData(int payload, int offeredCount) {
        return payload + 2 + 2 * offeredCount;
    }

    /** A CM_REPLY's length of private data (0 for an empty payload). */
    public static int replyPrivateLength(DirectBuffer rx, int payload, int payloadLength) {
        return payloadLength > 0 ? rx.getByte(payload) & 0xFF : 0;
    }

    /**
     * The domain name at {@code at} (length u8, then UTF-8), where a frame's payload ending at {@code end} carries
     * it: "" when the payload ends right there (a node that sends none), null when it does not fit.
     */
    public static String name(DirectBuffer rx, int at, int end) {
        if (at == end) {
            return "";
        }
        if (at > end || at + 1 + (rx.getByte(at) & 0xFF) > end) {
            return null;
        }
        return new String(bytes(rx, at + 1, rx.getByte(at) & 0xFF), StandardCharsets.UTF_8);
    }

    /** A CM_REJECT's reason. */
    public static String reason(DirectBuffer rx, int payload, int payloadLength) {
        return new String(bytes(rx, payload, Math.min(payloadLength, MAX_REASON_BYTES)), StandardCharsets.UTF_8);
    }

    /** A copy of {@code length} bytes at {@code at}. */
    public static byte[] bytes(DirectBuffer rx, int at, int length) {
        byte[] out = new byte[length];
        rx.getBytes(at, out);
        return out;
    }
}
