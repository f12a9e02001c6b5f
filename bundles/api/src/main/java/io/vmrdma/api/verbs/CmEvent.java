package io.vmrdma.api.verbs;

/**
 * One connection-manager event, filled by {@link VerbsContext#pollCmEvent}. Mutable and reusable. Private data
 * (up to {@link #MAX_PRIVATE_DATA} bytes, as rdma_cm's connect private data) lets peers exchange what they need,
 * such as a buffer's address and rkey.
 */
public final class CmEvent {

    /** Most private-data bytes a connect or accept carries. */
    public static final int MAX_PRIVATE_DATA = 56;

    private CmEventType type;
    private long connectionId;
    private long serviceId;
    private int localQpn = -1;
    private QpAddress remote;
    private int pkey;
    private String reason = "";
    private final byte[] privateData = new byte[MAX_PRIVATE_DATA];
    private int privateDataLength;

    /** Fills every field; used by the engine. */
    public CmEvent set(CmEventType type, long connectionId, long serviceId, int localQpn, QpAddress remote, int pkey,
                       String reason, byte[] data, int dataLength) {
        this.type = type;
        this.connectionId = connectionId;
        this.serviceId = serviceId;
        this.localQpn = localQpn;
        this.remote = remote;
        this.pkey = pkey;
        this.reason = reason;
        this.privateDataLength = dataLength;
        if (dataLength > 0) {
            System.arraycopy(data, 0, privateData, 0, dataLength);
        }
        return this;
    }

    public CmEventType type() {
        return type;
    }

    /** Names the connection attempt; pass it to accept or reject a CONNECT_REQUEST. */
    public long connectionId() {
        return connectionId;
    }

    public long serviceId() {
        return serviceId;
    }

    /** This domain's queue pair on the connection, or -1 for a CONNECT_REQUEST not yet accepted. */
    public int localQpn() {
        return localQpn;
    }

    /** The peer's queue pair. */
    public QpAddress remote() {
        return remote;
    }

    /** The partition the connection lives in. */
    public int pkey() {
        return pkey;
    }

    /** Why a connection was rejected or closed, for people; empty otherwise. */
    public String reason() {
        return reason;
    }

    public int privateDataLength() {
        return privateDataLength;
    }

    /** Private data byte {@code i}. */
    public byte privateData(int i) {
        if (i >= privateDataLength) {
            throw new IndexOutOfBoundsException("private data has " + privateDataLength + " bytes");
        }
        return privateData[i];
    }

    /** A copy of the private data. */
    public byte[] privateData() {
        return java.util.Arrays.copyOf(privateData, privateDataLength);
    }

    @Override
    public String toString() {
        return "cm{" + type + ", conn=" + connectionId + ", service=" + serviceId + ", qp=" + localQpn + ", remote="
                + remote + ", pkey=0x" + Integer.toHexString(pkey) + (reason.isEmpty() ? "" : ", reason=" + reason)
                + '}';
    }
}
