package io.vmrdma.engine.internal.transport;

import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameType;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The frames of a domain's migration (docs/wire-protocol.md §9): MIGRATE, one step of the exchange between the
 * source node and the destination node, and QP_MOVED / QP_MOVED_ACK, the notice a peer of a migrated queue pair
 * gets. Only the layout lives here; what the steps mean, and every check of them, is the migration manager's.
 */
public final class MigrationWire {

    private final WireTransport wire;

    MigrationWire(WireTransport wire) {
        this.wire = wire;
    }

    /** Payload bytes one MIGRATE frame carries at the port's MTU (0 without a port). */
    public int chunkRoom() {
        return wire.port() == null ? 0 : wire.payloadRoom(FrameType.MIGRATE);
    }

    /**
     * A MIGRATE step to {@code peer}, with {@code length} payload bytes from {@code payload} at {@code from}; false
     * when the port is full (the step's timer sends it again).
     */
    public boolean sendStep(Peer peer, long migrationId, int step, int offset, int total, int domid,
                            DirectBuffer payload, int from, int length) {
        FrameType type = FrameType.MIGRATE;
        int at = wire.begin(peer, type.headerLength(), length);
        if (at < 0) {
            return false;
        }
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), 0, length, 0, 0, 0, 0);
        tx.putLong(at + Extension.Migrate.MIGRATION_ID, migrationId, Frame.ORDER);
        tx.putShort(at + Extension.Migrate.STEP, (short) step, Frame.ORDER);
        tx.putShort(at + Extension.Migrate.STEP + 2, (short) 0, Frame.ORDER);
        tx.putInt(at + Extension.Migrate.OFFSET, offset, Frame.ORDER);
        tx.putInt(at + Extension.Migrate.TOTAL, total, Frame.ORDER);
        tx.putInt(at + Extension.Migrate.DOMID, domid, Frame.ORDER);
        if (length > 0) {
            tx.putBytes(at + type.headerLength(), payload, from, length);
        }
        wire.end(peer, at, type.headerLength(), length);
        return true;
    }

    /** A QP_MOVED or QP_MOVED_ACK about the queue pair {@code movedQpn}, to its peer {@code peerQpn}. */
    public boolean sendMoved(Peer peer, FrameType type, int peerQpn, int movedQpn, int pkey, long connectionId,
                             int newNode) {
        int at = wire.begin(peer, type.headerLength(), 0);
        if (at < 0) {
            return false;
        }
        MutableDirectBuffer tx = wire.tx();
        Frame.writeBase(tx, at, type, 0, wire.nodeId(), peer.node(), pkey, 0, peerQpn, movedQpn, 0, 0);
        tx.putLong(at + Extension.QpMoved.CONNECTION_ID, connectionId, Frame.ORDER);
        tx.putShort(at + Extension.QpMoved.NEW_NODE, (short) newNode, Frame.ORDER);
        tx.putShort(at + Extension.QpMoved.NEW_NODE + 2, (short) 0, Frame.ORDER);
        tx.putInt(at + Extension.QpMoved.NEW_NODE + 4, 0, Frame.ORDER);
        wire.end(peer, at, type.headerLength(), 0);
        return true;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Reading a received frame at {@code at}

    public static long migrationId(DirectBuffer rx, int at) {
        return rx.getLong(at + Extension.Migrate.MIGRATION_ID, Frame.ORDER);
    }

    public static int step(DirectBuffer rx, int at) {
        return rx.getShort(at + Extension.Migrate.STEP, Frame.ORDER) & 0xFFFF;
    }

    public static int offset(DirectBuffer rx, int at) {
        return rx.getInt(at + Extension.Migrate.OFFSET, Frame.ORDER);
    }

    public static int total(DirectBuffer rx, int at) {
        return rx.getInt(at + Extension.Migrate.TOTAL, Frame.ORDER);
    }

    public static int domid(DirectBuffer rx, int at) {
        return rx.getInt(at + Extension.Migrate.DOMID, Frame.ORDER);
    }

    public static long movedConnectionId(DirectBuffer rx, int at) {
        return rx.getLong(at + Extension.QpMoved.CONNECTION_ID, Frame.ORDER);
    }

    public static int newNode(DirectBuffer rx, int at) {
        return rx.getShort(at + Extension.QpMoved.NEW_NODE, Frame.ORDER) & 0xFFFF;
    }
}
