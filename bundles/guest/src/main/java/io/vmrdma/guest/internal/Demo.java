package io.vmrdma.guest.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.guest.GuestBuffer;
import io.vmrdma.guest.GuestDevice;

/**
 * The demo both guests of the embedded default run: every verb, every round, checked byte for byte.
 *
 * <p>A round of the client: RDMA WRITE a seeded block A into the server's window, RDMA WRITE WITH IMM a block B
 * after it (the server's receive completes with the round number as immediate data, and the server SENDs the
 * whole window A|B back), RDMA READ the window, then SEND a block C, which the server echoes. The client checks the
 * window it got back, the window it read and the echo against what it wrote, and stops with an error at the first
 * difference. The server's window address and rkey travel in the connection manager's private data.
 */
final class Demo {

    static final int BLOCK = 4096;
    private static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    private static final int CONNECT_ATTEMPTS = 150;
    private static final int WINDOW_INFO = 12;

    // Client memory: A, B, C to send; the window sent back; the window read; C's echo.
    private static final int A = 0;
    private static final int B = BLOCK;
    private static final int C = 2 * BLOCK;
    private static final int RETURNED = 3 * BLOCK;
    private static final int READ = 5 * BLOCK;
    private static final int ECHO = 7 * BLOCK;
    private static final int CLIENT_BYTES = 8 * BLOCK;

    // Server memory: the window the client writes and reads, and the receive area. Replies are sent from where the
    // bytes are: the client waits for each reply before it writes or sends again.
    private static final int WINDOW = 0;
    private static final int RECEIVED = 2 * BLOCK;
    private static final int SERVER_BYTES = 3 * BLOCK;

    private Demo() {
    }

    /** Serves clients one connection after another, until the process is stopped. */
    static void server(GuestDevice dev, long service) throws VerbsException {
        GuestDevice.Pd pd = dev.allocPd();
        GuestDevice.Cq cq = dev.createCq(64);
        GuestBuffer buf = dev.allocate(SERVER_BYTES);
        GuestDevice.Region mr = dev.register(pd, buf,
                AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE | AccessFlags.REMOTE_READ);
        RecvWorkRequest recv = new RecvWorkRequest();
        recv.sgl().add(mr.address() + RECEIVED, BLOCK, mr.lkey());
        SendWorkRequest send = new SendWorkRequest().opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED);
        byte[] window = ByteBuffer.allocate(WINDOW_INFO).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(mr.address() + WINDOW).putInt(mr.rkey()).array();
        WorkCompletion wc = new WorkCompletion();
        CmEvent event = new CmEvent();
        dev.listen(service);
        System.out.println("demo: listening on service " + service);
        while (true) {
            GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 16, 16, 1, false);
            if (!dev.waitCmEvent(event, Long.MAX_VALUE / 4) || event.type() != CmEventType.CONNECT_REQUEST) {
                dev.destroyQp(qp);
                continue;
            }
            dev.accept(event.connectionId(), qp, window);
            // One receive for WRITE WITH IMM and one for SEND; each is posted again once used.
            dev.postRecv(qp, recv);
            dev.postRecv(qp, recv);
            System.out.println("demo: serving " + event.remote());
            long rounds = 0;
            while (true) {
                if (!dev.waitCq(cq, wc, WAIT)) {
                    if (dev.pollCmEvent(event) && event.type() == CmEventType.DISCONNECTED) {
                        break;
                    }
                    continue;
                }
                if (wc.status() != WcStatus.SUCCESS) {
                    break;
                }
                if (wc.opcode() == WcOpcode.RECV_RDMA_WITH_IMM) {
                    // A and B are in the window: send it all back.
                    reply(dev, qp, send, mr, WINDOW, 2 * BLOCK);
                    dev.postRecv(qp, recv);
                } else if (wc.opcode() == WcOpcode.RECV) {
                    reply(dev, qp, send, mr, RECEIVED, wc.byteLength());
                    dev.postRecv(qp, recv);
                    rounds++;
                }
            }
            System.out.println("demo: client gone after " + rounds + " rounds");
            dev.destroyQp(qp);
        }
    }

    private static void reply(GuestDevice dev, GuestDevice.Qp qp, SendWorkRequest send, GuestDevice.Region mr,
                              int offset, int length)
            throws VerbsException {
        send.sgl().clear();
        send.sgl().add(mr.address() + offset, length, mr.lkey());
        dev.postSend(qp, send);
    }

    /** Runs {@code rounds} rounds (for ever when negative), pausing {@code pauseMillis} between them. */
    static void client(GuestDevice dev, int node, long service, long rounds, long pauseMillis) throws VerbsException {
        GuestDevice.Pd pd = dev.allocPd();
        GuestDevice.Cq cq = dev.createCq(64);
        GuestBuffer buf = dev.allocate(CLIENT_BYTES);
        GuestDevice.Region mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE);
        GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 16, 16, 1, false);
        CmEvent event = connect(dev, qp, node, service);
        if (event.privateDataLength() < WINDOW_INFO) {
            throw new IllegalStateException("the server did not say where its window is");
        }
        ByteBuffer info = ByteBuffer.wrap(event.privateData()).order(ByteOrder.LITTLE_ENDIAN);
        long window = info.getLong(0);
        int rkey = info.getInt(8);

        SendWorkRequest writeA = write(Opcode.RDMA_WRITE, mr, A, window, rkey);
        SendWorkRequest writeB = write(Opcode.RDMA_WRITE_WITH_IMM, mr, B, window + BLOCK, rkey);
        SendWorkRequest read = new SendWorkRequest().opcode(Opcode.RDMA_READ).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(window).rkey(rkey);
        read.sgl().add(mr.address() + READ, 2 * BLOCK, mr.lkey());
        SendWorkRequest sendC = new SendWorkRequest().opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED);
        sendC.sgl().add(mr.address() + C, BLOCK, mr.lkey());
        RecvWorkRequest returned = new RecvWorkRequest();
        returned.sgl().add(mr.address() + RETURNED, 2 * BLOCK, mr.lkey());
        RecvWorkRequest echo = new RecvWorkRequest();
        echo.sgl().add(mr.address() + ECHO, BLOCK, mr.lkey());

        Random random = new Random(dev.domid());
        byte[] written = new byte[3 * BLOCK];
        WorkCompletion wc = new WorkCompletion();
        for (long round = 1; rounds < 0 || round <= rounds; round++) {
            random.nextBytes(written);
            buf.buffer().put(A, written);
            writeB.immData((int) round);
            dev.postRecv(qp, returned);
            dev.postSend(qp, writeA);
            dev.postSend(qp, writeB);
            awaitRecv(dev, cq, wc, round, 2 * BLOCK);
            check(round, "the window sent back", bytes(buf, RETURNED, 2 * BLOCK), written, 2 * BLOCK);
            dev.postSend(qp, read);
            awaitSend(dev, cq, wc, round, WcOpcode.RDMA_READ);
            check(round, "the window read", bytes(buf, READ, 2 * BLOCK), written, 2 * BLOCK);
            dev.postRecv(qp, echo);
            dev.postSend(qp, sendC);
            awaitRecv(dev, cq, wc, round, BLOCK);
            check(round, "the echo", bytes(buf, ECHO, BLOCK), Arrays.copyOfRange(written, C, C + BLOCK), BLOCK);
            if (round % 100 == 0) {
                System.out.println("demo: round " + round + " ok (write, write with imm, read, send)");
            }
            if (pauseMillis > 0) {
                sleepMillis(pauseMillis);
            }
        }
        dev.disconnect(qp);
        System.out.println("demo: done");
    }

    private static SendWorkRequest write(Opcode opcode, GuestDevice.Region mr, int offset, long remote, int rkey) {
        SendWorkRequest wr = new SendWorkRequest().opcode(opcode).sendFlags(SendFlags.SIGNALED).remoteAddress(remote)
                .rkey(rkey);
        wr.sgl().add(mr.address() + offset, BLOCK, mr.lkey());
        return wr;
    }

    /** Connects, retrying a refusal for a while: the server may still be booting. */
    private static CmEvent connect(GuestDevice dev, GuestDevice.Qp qp, int node, long service) throws VerbsException {
        CmEvent event = new CmEvent();
        for (int attempt = 1;; attempt++) {
            dev.connect(qp, node, service, -1, null);
            if (!dev.waitCmEvent(event, WAIT)) {
                throw new IllegalStateException("no answer to the connection request");
            }
            if (event.type() == CmEventType.ESTABLISHED) {
                return event;
            }
            if (attempt == CONNECT_ATTEMPTS) {
                throw new IllegalStateException("not connected after " + attempt + " attempts: " + event);
            }
            sleepMillis(200);
        }
    }

    /** Waits for the receive of {@code length} bytes, passing over the send completions before it. */
    private static void awaitRecv(GuestDevice dev, GuestDevice.Cq cq, WorkCompletion wc, long round, int length)
            throws VerbsException {
        while (true) {
            next(dev, cq, wc, round);
            if (wc.opcode() == WcOpcode.RECV) {
                if (wc.byteLength() != length) {
                    throw new IllegalStateException("round " + round + ": received " + wc.byteLength() + " bytes, not "
                            + length);
                }
                return;
            }
        }
    }

    private static void awaitSend(GuestDevice dev, GuestDevice.Cq cq, WorkCompletion wc, long round, WcOpcode opcode)
            throws VerbsException {
        do {
            next(dev, cq, wc, round);
        } while (wc.opcode() != opcode);
    }

    private static void next(GuestDevice dev, GuestDevice.Cq cq, WorkCompletion wc, long round)
            throws VerbsException {
        if (!dev.waitCq(cq, wc, WAIT)) {
            throw new IllegalStateException("round " + round + ": no completion in 30 s");
        }
        if (wc.status() != WcStatus.SUCCESS) {
            throw new IllegalStateException("round " + round + ": " + wc);
        }
    }

    private static void check(long round, String what, byte[] got, byte[] expected, int length) {
        if (!Arrays.equals(got, 0, length, expected, 0, length)) {
            throw new IllegalStateException("round " + round + ": " + what + " differs from what was written");
        }
    }

    private static byte[] bytes(GuestBuffer buf, int offset, int length) {
        byte[] b = new byte[length];
        buf.buffer().get(offset, b);
        return b;
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
