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
 * {@code <id>.s} and notifies into the other. Every port holds both FIFOs open, so a byte written while the other
 * side is unbound (its pending bit) is kept until a port binds there. The simulator holds none open: a guest that
 * binds every port it may costs descriptors in its own process, not in dom0's.
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
        Channel channel = new Channel(nextId++);
        for (int side = 0; side < 2; side++) {
            Path fifo = fifo(channel.id, side);
            if (LibC.mkfifo(fifo.toString(), 0600) < 0) {
                int errno = LibC.errno();
                channel.delete();
                throw new XenException(op, errno == 0 ? XenErrno.EIO : errno, "FIFO " + fifo);
            }
        }
        return channel;
    }

    /** One channel: its id and how many ports use it. */
    final class Channel {
        final int id;
        /** Ports (at most two) that use this channel; the FIFOs go when the last lets go. */
        int ports;

        private Channel(int id) {
            this.id = id;
        }

        /**
         * Sets the pending bit of the port on {@code side}, as a notify from its peer would: called when a port binds
         * to the other side, whose holder keeps the FIFO open, so the byte stays until the new port reads it.
         */
        void fire(int side) {
            int fd = LibC.open(fifo(id, side).toString(), LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
            if (fd >= 0) {
                LibC.write(fd, ONE, 1);
                LibC.close(fd);
            }
        }

        void delete() {
            for (int side = 0; side < 2; side++) {
                try {
                    Files.deleteIfExists(fifo(id, side));
                } catch (IOException e) {
                    // the run directory goes when the simulator stops
                }
            }
        }
    }
}
