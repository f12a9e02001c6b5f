package io.vmrdma.itests;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.guest.GuestBuffer;
import io.vmrdma.guest.GuestDevice;
import io.vmrdma.xen.sim.guest.SimGuest;

/**
 * The guest of {@link NicHotSwapIT}, run by the simulator in its own process: connects to a service on another
 * node, then round after round RDMA WRITEs a seeded chunk into the remote window and RDMA READs it back, checking
 * every byte. It goes on until the test creates the {@code finish} file and at least {@code MIN_ROUNDS} rounds are
 * done, so a binding swapped by the test happens mid-transfer. Progress (rounds done) goes to {@code progress};
 * the result to {@code result}: {@code OK <rounds> <bytes>} or {@code FAIL <why>}.
 *
 * <p>Arguments: {@code NODE SERVICE CHUNK_BYTES MIN_ROUNDS DIRECTORY}.
 */
public final class SwapClient {

    private static final long WAIT = TimeUnit.SECONDS.toNanos(120);

    private SwapClient() {
    }

    public static void main(String[] args) throws Exception {
        int node = Integer.parseInt(args[0]);
        long service = Long.parseLong(args[1]);
        int chunk = Integer.parseInt(args[2]);
        int minRounds = Integer.parseInt(args[3]);
        Path directory = Path.of(args[4]);
        try {
            String outcome = run(node, service, chunk, minRounds, directory);
            write(directory, "result", outcome);
        } catch (Exception | AssertionError e) {
            write(directory, "result", "FAIL " + e);
            throw e;
        }
    }

    private static String run(int node, long service, int chunk, int minRounds, Path directory) throws Exception {
        try (GuestDevice dev = GuestDevice.open(SimGuest.current(), 0, GuestDevice.Options.defaults())) {
            GuestDevice.Pd pd = dev.allocPd();
            GuestDevice.Cq cq = dev.createCq(64);
            GuestBuffer out = dev.allocate(chunk);
            GuestBuffer back = dev.allocate(chunk);
            GuestDevice.Region outMr = dev.register(pd, out, AccessFlags.LOCAL_WRITE);
            GuestDevice.Region backMr = dev.register(pd, back, AccessFlags.LOCAL_WRITE);
            GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 16, 16, 1, false);
            dev.connect(qp, node, service, -1, null);
            CmEvent established = new CmEvent();
            if (!dev.waitCmEvent(established, WAIT) || established.type() != CmEventType.ESTABLISHED) {
                return "FAIL no connection: " + established;
            }
            byte[] key = new byte[12];
            for (int i = 0; i < key.length; i++) {
                key[i] = established.privateData(i);
            }
            ByteBuffer k = ByteBuffer.wrap(key);
            long remoteAddress = k.getLong();
            int rkey = k.getInt();

            byte[] pattern = new byte[chunk];
            byte[] arrived = new byte[chunk];
            Random random = new Random(7);
            WorkCompletion wc = new WorkCompletion();
            long bytes = 0;
            int round = 0;
            while (round < minRounds || !Files.exists(directory.resolve("finish"))) {
                random.nextBytes(pattern);
                out.buffer().put(0, pattern);
                SendWorkRequest write = new SendWorkRequest().wrId(2L * round).opcode(Opcode.RDMA_WRITE)
                        .remoteAddress(remoteAddress).rkey(rkey);
                write.sgl().add(outMr.address(), chunk, outMr.lkey());
                dev.postSend(qp, write);
                SendWorkRequest read = new SendWorkRequest().wrId(2L * round + 1).opcode(Opcode.RDMA_READ)
                        .sendFlags(SendFlags.SIGNALED).remoteAddress(remoteAddress).rkey(rkey);
                read.sgl().add(backMr.address(), chunk, backMr.lkey());
                dev.postSend(qp, read);
                if (!dev.waitCq(cq, wc, WAIT)) {
                    return "FAIL round " + round + ": no completion in 120 s";
                }
                if (wc.status() != WcStatus.SUCCESS || wc.wrId() != 2L * round + 1) {
                    return "FAIL round " + round + ": " + wc.status() + " for work request " + wc.wrId();
                }
                back.buffer().get(0, arrived);
                if (!Arrays.equals(pattern, arrived)) {
                    return "FAIL round " + round + ": the READ brought back other bytes than the WRITE put there";
                }
                bytes += 2L * chunk;
                round++;
                write(directory, "progress", Integer.toString(round));
            }
            dev.disconnect(qp);
            return "OK " + round + " " + bytes;
        }
    }

    /** Replaces a file whole, so the test never reads half of it. */
    private static void write(Path directory, String name, String text) throws java.io.IOException {
        Path temporary = directory.resolve(name + ".tmp");
        Files.writeString(temporary, text);
        Files.move(temporary, directory.resolve(name), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }
}
