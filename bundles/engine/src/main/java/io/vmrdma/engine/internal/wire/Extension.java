package io.vmrdma.engine.internal.wire;

/**
 * Offsets of the extension fields, from the start of the frame (so after the 32-byte base header). One nested class
 * per frame type; docs/wire-protocol.md draws each.
 */
public final class Extension {

    private Extension() {
    }

    /**
     * HELLO and HELLO_REPLY. A HELLO carries a probe id (0: none) that its HELLO_REPLY echoes, so the sender measures
     * the round trip. A HELLO with {@link #FLAG_DISCOVERY} in the base flags goes to the link's broadcast address and
     * names no destination node ({@link #ANY_NODE}).
     */
    public static final class Hello {
        public static final int PROTOCOL_VERSION = 32;
        /** u16: the probe id of a HELLO; in a HELLO_REPLY, the probe id of the HELLO it answers. */
        public static final int PROBE = 34;
        public static final int MTU = 36;
        public static final int INCARNATION = 40;

        /** Base-header flag of a discovery HELLO, sent to the broadcast address; only valid on HELLO. */
        public static final int FLAG_DISCOVERY = 0x10;
        /** Destination node written in a discovery HELLO; the receiver ignores it. */
        public static final int ANY_NODE = 0xFFFF;

        private Hello() {
        }
    }

    /** WRITE; base aux = the message's first PSN. */
    public static final class Write {
        public static final int REMOTE_ADDRESS = 32;
        public static final int RKEY = 40;
        public static final int MESSAGE_LENGTH = 44;
        public static final int LAST_PSN = 48;
        public static final int IMM = 52;
        public static final int MSN = 56;

        private Write() {
        }
    }

    /** SEND; base aux = the message's first PSN. */
    public static final class Send {
        public static final int MESSAGE_OFFSET = 32;
        public static final int MESSAGE_LENGTH = 40;
        public static final int LAST_PSN = 44;
        public static final int IMM = 48;
        public static final int MSN = 52;

        private Send() {
        }
    }

    /** READ_REQUEST; base PSN = the first response PSN requested, aux = the number of response packets. */
    public static final class ReadRequest {
        public static final int REMOTE_ADDRESS = 32;
        public static final int RKEY = 40;
        public static final int LENGTH = 44;
        public static final int SEGMENT = 48;
        public static final int READ_OFFSET = 52;

        private ReadRequest() {
        }
    }

    /** READ_RESPONSE; base PSN = this response's PSN. */
    public static final class ReadResponse {
        public static final int READ_OFFSET = 32;

        private ReadResponse() {
        }
    }

    /**
     * ACK; base aux = cumulative PSN: every PSN before it was received. With {@link #FLAG_PRESSURE} in the base flags
     * the receiver asks the sender to shrink its congestion window; a node of an earlier revision neither sets nor
     * reads it, so the two still interoperate (without the receiver's signal).
     */
    public static final class Ack {
        /** Bit i set: PSN aux + 1 + i was received too. */
        public static final int SACK = 32;

        /** Base-header flag of an ACK: the receiver is under pressure, back off. Only valid on ACK. */
        public static final int FLAG_PRESSURE = 0x40;

        private Ack() {
        }
    }

    /** NAK; base aux = the PSN refused. */
    public static final class Nak {
        public static final int CODE = 32;
        public static final int RNR_DELAY_MICROS = 36;

        public static final int RECEIVER_NOT_READY = 1;
        public static final int REMOTE_ACCESS = 2;
        public static final int INVALID_REQUEST = 3;
        public static final int REMOTE_OPERATION = 4;

        private Nak() {
        }
    }

    /** CM_REQUEST, CM_REPLY, CM_REJECT, DISCONNECT_*; the payload carries private data or the reject reason. */
    public static final class Cm {
        public static final int CONNECTION_ID = 32;
        /** CM_REQUEST: the service id. CM_REPLY: the replying domain. */
        public static final int SERVICE_OR_DOMID = 40;
        /** The sender's queue pair's domain (CM_REQUEST) or partition key (CM_REPLY). */
        public static final int DOMID_OR_PKEY = 48;
        /** The sender's first PSN. */
        public static final int INITIAL_PSN = 52;

        private Cm() {
        }
    }

    /** MIGRATE; the payload carries what the step says (docs/wire-protocol.md §9). */
    public static final class Migrate {
        public static final int MIGRATION_ID = 32;
        /** u16: the step, one of the constants below. */
        public static final int STEP = 40;
        /** u32: a byte offset into the domain's state (STATE, STATE_ACK). */
        public static final int OFFSET = 44;
        /** u32: bytes of the whole state (OFFER, STATE). */
        public static final int TOTAL = 48;
        /** u32: the migrating domain's domid. */
        public static final int DOMID = 52;

        public static final int OFFER = 1;
        public static final int ACCEPT = 2;
        public static final int STATE = 3;
        public static final int STATE_ACK = 4;
        public static final int READY = 5;
        public static final int COMMIT = 6;
        public static final int COMMITTED = 7;
        public static final int ABORT = 8;

        private Migrate() {
        }
    }

    /** QP_MOVED and QP_MOVED_ACK; source QPN = the queue pair that moved, destination QPN = its peer. */
    public static final class QpMoved {
        public static final int CONNECTION_ID = 32;
        /** u16: the node the queue pair is on now. */
        public static final int NEW_NODE = 40;

        private QpMoved() {
        }
    }
}
