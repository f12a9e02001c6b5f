package io.vmrdma.guest;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.xen.sim.guest.SimGuest;

/**
 * A client guest run in its own process by {@code GuestMain}: connects to a service on its node, RDMA WRITEs a
 * seeded pattern into the server's buffer (address and rkey from the accept's private data), and after every
 * round SENDs the round number. Arguments: service, seed, rounds (-1: until killed), bytes.
 */
public final class PeerProgram {

    private PeerProgram() {
    }

    public static void main(String[] args) throws Exception {
        long service = Long.parseLong(args[0]);
        long seed = Long.parseLong(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int bytes = Integer.parseInt(args[3]);
        long wait = TimeUnit.SECONDS.toNanos(30);
        GuestDevice dev = GuestDevice.open(SimGuest.current(), GuestDevice.Options.defaults());
        GuestDevice.Pd pd = dev.allocPd();
        GuestDevice.Cq cq = dev.createCq(256);
        GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 64, 64, 1, false);
        GuestBuffer buf = dev.allocate(bytes + 8);
        GuestDevice.Region mr = dev.register(pd, buf, AccessFlags.LOCAL_WRITE);
        for (int i = 0; i < bytes; i++) {
            buf.buffer().put(i, pattern(seed, i));
        }
        dev.connect(qp, dev.nodeId(), service, -1, new byte[0]);
        CmEvent up = new CmEvent();
        if (!dev.waitCmEvent(up, wait) || up.type() != CmEventType.ESTABLISHED) {
            throw new IllegalStateException("not connected: " + up);
        }
        ByteBuffer key = ByteBuffer.wrap(up.privateData());
        long address = key.getLong();
        int rkey = key.getInt();
        System.out.println("peer: connected to " + up.remote());
        SendWorkRequest write = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).remoteAddress(address).rkey(rkey);
        write.sgl().add(mr.address(), bytes, mr.lkey());
        SendWorkRequest send = new SendWorkRequest().opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED);
        send.sgl().add(mr.address() + bytes, 8, mr.lkey());
        WorkCompletion wc = new WorkCompletion();
        for (long round = 1; rounds < 0 || round <= rounds; round++) {
            dev.postSend(qp, write.wrId(round));
            buf.buffer().putLong(bytes, round);
            dev.postSend(qp, send.wrId(round));
            if (!dev.waitCq(cq, wc, wait) || wc.status() != WcStatus.SUCCESS) {
                throw new IllegalStateException("round " + round + ": " + wc);
            }
        }
        dev.close();
        System.out.println("peer: done");
    }

    static byte pattern(long seed, int i) {
        long x = (seed + i) * 0x9E3779B97F4A7C15L;
        return (byte) (x >>> 56);
    }
}
