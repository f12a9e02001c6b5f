package io.vmrdma.xen.jna.internal;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/** The libc calls the handles need: {@code poll} to wait on a library's fd with a timeout. */
interface LibC extends Library {

    LibC INSTANCE = Native.load("c", LibC.class);

    short POLLIN = 1;

    int EINTR = 4;

    /** {@code int poll(struct pollfd *fds, nfds_t nfds, int timeout)}; {@code fds} is {@link PollFd} memory. */
    int poll(Pointer fds, long nfds, int timeoutMillis);
}
