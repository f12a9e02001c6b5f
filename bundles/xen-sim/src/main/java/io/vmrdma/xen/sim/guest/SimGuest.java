package io.vmrdma.xen.sim.guest;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
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

    private final Path dir;
    private final int domid;
    private final String name;
    private final long memoryBytes;
    private final int maxEventChannels;
    private final PageFile memory;

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

    @Override
    public GrantMapper openGrantMapper() throws XenException {
        return new GuestGrantMapper(HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                "xengnttab_open"), dir.getParent());
    }

    @Override
    public GrantSharer openGrantSharer() throws XenException {
        return new GuestGrantSharer(HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                "xengntshr_open"), memory);
    }

    @Override
    public EventChannel openEventChannel() throws XenException {
        return new GuestEventChannel(HypercallChannel.connect(dir.resolve(SimAbi.SOCKET_HYPERCALL),
                "xenevtchn_open"), dir.resolve(SimAbi.PATH_CHANNELS).normalize(), maxEventChannels + 1);
    }

    @Override
    public XenStore openXenStore() throws XenException {
        return new XsClient(XsSocketTransport.at(dir.resolve(SimAbi.SOCKET_XENSTORE)));
    }

    /** Detaches: unmaps the domain's memory. Shared buffers become invalid. */
    @Override
    public void close() {
        memory.close();
    }
}
