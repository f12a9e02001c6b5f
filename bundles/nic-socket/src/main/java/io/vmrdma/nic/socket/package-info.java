/**
 * The libc socket calls that NIC bindings make through JNA ({@link io.vmrdma.nic.socket.SocketCalls}), and the wait
 * for a socket to have frames to read ({@link io.vmrdma.nic.socket.ReceiveReadiness}, since 0.2.0): one
 * registration shared by {@code nic.packet} (AF_PACKET) and {@code nic.udp} (UDP with segmentation offload), each of
 * which keeps its own family's constants and structures; and, since 0.3.0, the kernel's receive timestamps of
 * their frames ({@link io.vmrdma.nic.socket.ReceiveTimestamps}), whose clock is read only for polls that returned
 * frames since 0.4.0 ({@code pollReturned}). Since 0.5.0 the wait may take one more descriptor ({@code awaitOr});
 * since 0.6.0 another thread can end it ({@link io.vmrdma.nic.socket.ReceiveReadiness#wake()}, an eventfd beside the
 * socket, which the readiness owns and closes).
 */
@Export
@Version("0.6.0")
package io.vmrdma.nic.socket;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
