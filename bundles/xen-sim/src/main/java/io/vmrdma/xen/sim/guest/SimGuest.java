package io.vmrdma.xen.sim.guest;

import java.io.IOException;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.SuspendHandler;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.internal.abi.GuestEventChannel;
import io.vmrdma.xen.sim.internal.abi.GuestGrantMapper;
import io.vmrdma.xen.sim.internal.abi.GuestGrantSharer;
import io.vmrdma.xen.sim.internal.abi.HypercallChannel;
import io.vmrdma.xen.sim.internal.abi.PageFile;
import io.vmrdma.xen.sim.internal.abi.XsClient;
import io.vmrdma.xen.sim.internal.abi.XsSocketTransport;

/**
 * A guest domain's access to the simulated hypervisor, in plain Java (no OSGi needed): the same
 * {@link Hypervisor} contract dom0 has, acting as this domain. Any number of processes of one domain may attach at
 * once, as any number of programs of a VM open the kernel's Xen devices: each maps the domain's memory, and the
 * simulator's allocator hands out pages and grant refs to all of them.
 *
 * <ul>
 *   <li>{@link #openGrantSharer()}: pages of the domain's memory granted by the simulator's allocator of the
 *       domain (gntalloc's limit applies to the domain, all processes together);</li>
 *   <li>{@link #openEventChannel()}, {@link #openGrantMapper()}, {@link #openGrantSharer()}: each handle is its own
 *       connection to {@code hypercall.sock}, and what it holds goes when it closes or the process dies;</li>
 *   <li>{@link #openXenStore()}: each connection is its own socket to the domain's {@code xenstore.sock}.</li>
 * </ul>
 */
public final class SimGuest implements Hypervisor, AutoCloseable {

    private static volatile SimGuest current;

    /** The domain directory: another host's after a move. */
    private volatile Path dir;
    private final int domid;
    private final String name;
    private final long memoryBytes;
    private final int maxEventChannels;
    private final PageFile memory;
    /** The handles this guest opened that a move rebinds to the new host (closed ones drop out with their owner). */
    private final Set<Object> handles = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private final List<SuspendHandler> suspendHandlers = new CopyOnWriteArrayList<>();
    /** Serialises suspends. */
    private final Object kernel = new Object();

    private SimGuest(Path dir, Properties info, PageFile memory) {
        this.dir = dir;
        this.domid = Integer.parseInt(info.getProperty("domid"));
        this.name = info.getProperty("name");
        this.memoryBytes = Long.parseLong(info.getProperty("memory-bytes"));
        this.maxEventChannels = Integer.parseInt(info.getProperty("max-event-channels"));
        this.memory = memory;
    }

    /**
     * Attaches to the domain whose directory is {@code domainDir}.
     *
     * @throws XenException ENOENT when it is not a domain directory (or the domain is gone); EPROTO (71) for
     *                      another ABI version
     */
    public static SimGuest attach(Path domainDir) throws XenException {
        Properties info = new Properties();
        try (Reader r = Files.newBufferedReader(domainDir.resolve(SimAbi.FILE_INFO))) {
            info.load(r);
        } catch (IOException e) {
            throw new XenException("attach", XenErrno.ENOENT, domainDir + ": " + e.getMessage());
        }
        if (!Integer.toString(SimAbi.VERSION).equals(info.getProperty("abi-version"))) {
            throw new XenException("attach", 71, "ABI version " + info.getProperty("abi-version") + ", this library "
                    + "speaks " + SimAbi.VERSION);
        }
        try {
            long bytes = Long.parseLong(info.getProperty("memory-bytes"));
            PageFile memory = PageFile.open(domainDir.resolve(SimAbi.FILE_MEMORY), bytes / PageFile.PAGE, true);
            return new SimGuest(domainDir, info, memory);
        } catch (IOException | RuntimeException e) {
            throw new XenException("attach", XenErrno.ENOENT, domainDir + ": " + e.getMessage());
        }
    }
    /** Attaches to the domain named by {@link SimAbi#ENV_DOMAIN_DIR}, as a guest process started by the toolstack. */
    public static SimGuest fromEnvironment() throws XenException {
        String dir = System.getenv(SimAbi.ENV_DOMAIN_DIR);
        if (dir == null || dir.isEmpty()) {
            throw new XenException("attach", XenErrno.ENOENT, SimAbi.ENV_DOMAIN_DIR + " is not set");
        }
        return attach(Path.of(dir));
    }

    /** The guest the {@link GuestMain} launcher attached in this process, or null. */
    public static SimGuest current() {
        return current;
    }

    static void setCurrent(SimGuest guest) {
        current = guest;
    }

    @Override
    public String kind() {
        return "sim";
    }

    @Override
    public int selfDomid() {
        return domid;
    }

    /** The domain's name as the toolstack created it. */
    public String name() {
        return name;
    }

    public long memoryBytes() {
        return memoryBytes;
    }

    /** The domain directory this guest attached to. */
    public Path domainDirectory() {
        return dir;
    }

    /**
     * A grant-mapping handle. Its maps of other domains' grants do not survive a move of this domain: map again after
     * {@link SuspendHandler#resume resume}.
     */
    @Override
    public GrantMapper openGrantMapper() throws XenException {
        return new GuestGrantMapper(HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                "xengnttab_open"), dir.getParent());
    }

    @Override
    public GrantSharer openGrantSharer() throws XenException {
        return tracked(new GuestGrantSharer(HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                "xengntshr_open"), memory));
    }

    @Override
    public EventChannel openEventChannel() throws XenException {
        return tracked(new GuestEventChannel(HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                "xenevtchn_open"), dir.resolve(SimAbi.PATH_CHANNELS).normalize(), maxEventChannels + 1));
    }

    @Override
    public XenStore openXenStore() throws XenException {
        return tracked(new XsClient(XsSocketTransport.at(dir.resolve(SimAbi.SOCKET_XENSTORE))));
    }

    private <T> T tracked(T handle) {
        handles.add(handle);
        return handle;
    }

    // ---- suspend and resume ----

    @Override
    public AutoCloseable onSuspend(SuspendHandler handler) {
        suspendHandlers.add(handler);
        return () -> suspendHandlers.remove(handler);
    }

    /**
     * Suspends this guest as its kernel does when the toolstack writes {@code suspend} into {@code control/shutdown}:
     * every {@link SuspendHandler} quiesces (in the order they registered), then the suspend hypercall waits until the
     * toolstack resumes the domain. On another host, the memory is remapped in place from that host's copy (every
     * buffer stays valid), XenStore connections reconnect with their watches, event-channel handles lose their ports
     * and sharing handles take their shares back; then the handlers resume, last registered first.
     *
     * @return whether the domain moved
     * @throws XenException when a handler refused (the others resumed; the domain was not suspended) or the new host
     *                      cannot be reached
     */
    public boolean suspend() throws XenException {
        synchronized (kernel) {
            List<SuspendHandler> quiesced = new ArrayList<>();
            boolean moved = false;
            try {
                for (SuspendHandler h : suspendHandlers) {
                    h.suspend();
                    quiesced.add(h);
                }
                String there;
                try (HypercallChannel hc = HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                        "suspend")) {
                    ByteBuffer reply = hc.call("SCHEDOP_shutdown", SimAbi.OP_SCHED_SUSPEND, ByteBuffer.allocate(0));
                    moved = reply.getInt(0) == SimAbi.SUSPEND_MOVED;
                    byte[] path = new byte[reply.capacity() - 4];
                    reply.get(4, path);
                    there = new String(path, StandardCharsets.UTF_8);
                }
                if (moved) {
                    rebind(Path.of(there));
                }
                return moved;
            } finally {
                Collections.reverse(quiesced);
                for (SuspendHandler h : quiesced) {
                    h.resume(moved);
                }
            }
        }
    }

    private void rebind(Path there) throws XenException {
        try {
            memory.remap(there.resolve(SimAbi.FILE_MEMORY));
        } catch (IOException e) {
            throw new XenException("resume", XenErrno.EIO, e.getMessage());
        }
        dir = there;
        List<Object> open;
        synchronized (handles) {
            open = new ArrayList<>(handles);
        }
        for (Object handle : open) {
            if (handle instanceof XsClient xs) {
                xs.reopen(XsSocketTransport.at(there.resolve(SimAbi.SOCKET_XENSTORE)));
            } else if (handle instanceof GuestEventChannel evtchn) {
                evtchn.rebind(HypercallChannel.connect(there.resolve(SimAbi.SOCKET_HYPERCALL), "xenevtchn_open"),
                        there.resolve(SimAbi.PATH_CHANNELS).normalize());
            } else if (handle instanceof GuestGrantSharer sharer) {
                sharer.rebind(HypercallChannel.connect(there.resolve(SimAbi.SOCKET_HYPERCALL), "xengntshr_open"));
            }
        }
    }

    /** Detaches: unmaps the domain's memory. Shared buffers become invalid. */
    @Override
    public void close() {
        memory.close();
    }
}
