package io.vmrdma.xen.sim.internal;

import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.XsWire;
import io.vmrdma.xen.sim.internal.xenstore.XenStored;

/** One connection on a domain's {@code xenstore.sock}: a xenstored client acting as that domain. */
final class XenStoreSocket implements SimIo.Protocol, XenStored.Connection {

    private final XenStored store;
    private final SimCounters counters;
    private final SimIo.SimConnection connection;

    XenStoreSocket(XenStored store, SimCounters counters, int domid, SimIo.SimConnection connection) {
        this.store = store;
        this.counters = counters;
        this.connection = connection;
        store.connect(this, domid);
    }

    @Override
    public int maxPayload() {
        return XsWire.PAYLOAD_MAX;
    }

    @Override
    public void onMessage(SimIo.SimConnection c, int type, int reqId, int txId, byte[] payload) {
        store.handle(this, type, reqId, txId, payload);
    }

    /** xenstored drops a client that announces more than 4096 bytes; we say E2BIG first. */
    @Override
    public void onOversize(SimIo.SimConnection c, int length) {
        counters.increment(Counter.XS_OVERSIZED);
        c.send(XsWire.ERROR, 0, 0, XsWire.strings("E2BIG"));
    }

    @Override
    public void onClose(SimIo.SimConnection c) {
        store.disconnect(this);
    }

    @Override
    public void send(int type, int reqId, int txId, byte[] payload) {
        connection.send(type, reqId, txId, payload);
    }
}
