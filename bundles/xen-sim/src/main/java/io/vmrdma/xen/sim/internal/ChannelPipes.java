package io.vmrdma.xen.sim.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.sun.jna.Pointer;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.abi.LibC;

/**
 * The FIFOs event channels are made of (docs/sim-abi.md §4.4): a channel is two FIFOs in the run directory's
 * {@code channels/}, {@code <id>.0} and {@code <id>.1}, one per direction; the port on side {@code s} waits on
 * {@code <id>.s} and notifies into the other. The simulator holds both open for the channel's life, so a byte
 * written while no port waits (the pending bit of an unbound end) is kept until one binds.
 */
final class ChannelPipes {

    private static final Pointer ONE = LibC.one();
    private final Path dir;
    private int nextId = 1;

    ChannelPipes(Path runDir) throws IOException {
        this.dir = Files.createDirectories(runDir.resolve(SimAbi.DIR_CHANNELS));
    }

    /** The FIFO the port on {@code side} of channel {@code id} waits on. */
    Path fifo(int id, int side) {
        return dir.resolve(id + "." + side);
    }

    /** Makes a new channel's two FIFOs. */
    Channel create(String op) throws XenException {
        int id = nextId++;
        int[] fds = new int[2];
        for (int side = 0; side < 2; side++) {
            Path fifo = fifo(id, side);
            if (LibC.mkfifo(fifo.toString(), 0600) < 0
                    || (fds[side] = LibC.open(fifo.toString(), LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC)) < 0) {
                int errno = LibC.errno();
                new Channel(id, fds).delete();
                throw new XenException(op, errno == 0 ? XenErrno.EIO : errno, "FIFO " + fifo);
            }
        }
        return new Channel(id, fds);
    }

    /** One channel: its id and the simulator's open ends of its two FIFOs. */
    final class Channel {
        final int id;
        private final int[] fds;
        /** Ports (at most two) that use this channel; the FIFOs go when the last lets go. */
        int ports;

        private Channel(int id, int[] fds) {
            this.id = id;
            this.fds = fds;
        }

        /** Sets the pending bit of the port on {@code side}, as a notify from its peer would. */
        void fire(int side) {
            LibC.write(fds[side], ONE, 1);
        }

        void delete() {
            for (int side = 0; side < 2; side++) {
                if (fds[side] > 0) {
                    LibC.close(fds[side]);
                }
                try {
                    Files.deleteIfExists(fifo(id, side));
                } catch (IOException e) {
                    // the run directory goes when the simulator stops
                }
            }
        }
    }
}
