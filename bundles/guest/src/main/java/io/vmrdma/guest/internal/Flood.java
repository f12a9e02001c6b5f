package io.vmrdma.guest.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.guest.GuestBuffer;
import io.vmrdma.guest.GuestDevice;

/**
 * Load for the scheduler: clients that RDMA WRITE into a sink's window without pause, so the engine, not the guests,
 * is the bottleneck and the active policy decides each VM's share. The sink takes any number of clients; its window's
 * address and rkey go out in the accept's private data, and it does nothing else (RDMA WRITE needs no receiver CPU).
 */
final class Flood {

    /** Within gntalloc's default limit of 1024 shared pages per domain, with room for the rings. */
    private static final int WINDOW_BYTES = 1 << 20;
    /** Enough queued work per VM (64 MiB at 1 MiB) that a VM stays backlogged while its guest waits for a core. */
    private static final int OUTSTANDING = 64;
    private static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    private static final int CONNECT_ATTEMPTS = 150;

    private Flood() {
    }

    /** Accepts clients for ever; a client's queue pair goes when it disconnects. */
    static void sink(GuestDevice dev, long service) throws VerbsException {
        GuestDevice.Pd pd = dev.allocPd();
        GuestDevice.Cq cq = dev.createCq(16);
        GuestBuffer buf = dev.allocate(WINDOW_BYTES);
        GuestDevice.Region mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE);
        byte[] window = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(mr.address())
                .putInt(mr.rkey()).array();
        Map<Integer, GuestDevice.Qp> clients = new HashMap<>();
        CmEvent event = new CmEvent();
        dev.listen(service);
        System.out.println("flood: sink listening on service " + service);
        GuestDevice.Qp next = dev.createQp(pd, cq, cq, 4, 4, 1, false);
        while (true) {
            if (!dev.waitCmEvent(event, WAIT)) {
                continue;
            }
            if (event.type() == CmEventType.CONNECT_REQUEST) {
                dev.accept(event.connectionId(), next, window);
                clients.put(next.qpn(), next);
                System.out.println("flood: sink serving " + event.remote());
                next = dev.createQp(pd, cq, cq, 4, 4, 1, false);
            } else if (event.type() == CmEventType.DISCONNECTED) {
                GuestDevice.Qp gone = clients.remove(event.localQpn());
                if (gone != null) {
                    dev.destroyQp(gone);
                }
            }
        }
    }

    /** Writes {@code size}-byte blocks into the sink's window, {@link #OUTSTANDING} at a time, until stopped. */
    static void client(GuestDevice dev, int node, long service, int size) throws VerbsException {
        if (size <= 0 || size > WINDOW_BYTES) {
            throw new IllegalArgumentException("block size must be 1 to " + WINDOW_BYTES + " bytes, not " + size);
        }
        GuestDevice.Pd pd = dev.allocPd();
        GuestDevice.Cq cq = dev.createCq(2 * OUTSTANDING);
        GuestBuffer buf = dev.allocate(size);
        GuestDevice.Region mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE);
        GuestDevice.Qp qp = dev.createQp(pd, cq, cq, OUTSTANDING, 1, 1, false);
        CmEvent event = new CmEvent();
        for (int attempt = 1;; attempt++) {
            dev.connect(qp, node, service, -1, null);
            if (dev.waitCmEvent(event, WAIT) && event.type() == CmEventType.ESTABLISHED) {
                break;
            }
            if (attempt == CONNECT_ATTEMPTS) {
                throw new IllegalStateException("not connected after " + attempt + " attempts: " + event);
            }
            sleepMillis(200);
        }
        ByteBuffer info = ByteBuffer.wrap(event.privateData()).order(ByteOrder.LITTLE_ENDIAN);
        SendWorkRequest write = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(info.getLong(0)).rkey(info.getInt(8));
        write.sgl().add(mr.address(), size, mr.lkey());
        System.out.println("flood: writing " + size + "-byte blocks");
        WorkCompletion wc = new WorkCompletion();
        for (int i = 0; i < OUTSTANDING; i++) {
            dev.postSend(qp, write);
        }
        while (true) {
            if (!dev.waitCq(cq, wc, WAIT)) {
                throw new IllegalStateException("no completion in 30 s");
            }
            if (wc.status() != WcStatus.SUCCESS) {
                throw new IllegalStateException("write failed: " + wc);
            }
            dev.postSend(qp, write);
        }
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
