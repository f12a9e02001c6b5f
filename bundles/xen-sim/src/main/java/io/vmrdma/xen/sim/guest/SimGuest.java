package io.vmrdma.xen.sim.guest;

import java.io.IOException;
import java.io.Reader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Properties;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.internal.abi.Gntalloc;
import io.vmrdma.xen.sim.internal.abi.GrantTableView;
import io.vmrdma.xen.sim.internal.abi.GuestEventChannel;
import io.vmrdma.xen.sim.internal.abi.GuestGrantMapper;
import io.vmrdma.xen.sim.internal.abi.HypercallChannel;
import io.vmrdma.xen.sim.internal.abi.PageFile;
import io.vmrdma.xen.sim.internal.abi.XsClient;
import io.vmrdma.xen.sim.internal.abi.XsSocketTransport;

/**
 * A guest domain's access to the simulated hypervisor, in plain Java (no OSGi needed): the same
 * {@link Hypervisor} contract dom0 has, acting as this domain. {@link #attach} makes this process the domain's
 * kernel: it maps the domain's memory and grant table and holds an exclusive lock on the grant table, so no other
 * process hands out the same pages or refs.
 *
 * <ul>
 *   <li>{@link #openGrantSharer()}: pages come from the domain's memory file, granted through entries written
 *       into its grant table (gntalloc's limit applies);</li>
 *   <li>{@link #openEventChannel()}, {@link #openGrantMapper()}: each handle is its own connection to
 *       {@code hypercall.sock};</li>
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
    private final FileChannel lockChannel;
    private final FileLock kernelLock;
    private final PageFile memory;
    private final PageFile grantTable;
    private final Gntalloc gntalloc;

    private SimGuest(Path dir, Properties info, FileChannel lockChannel, FileLock kernelLock, PageFile memory,
                     PageFile grantTable) {
        this.dir = dir;
        this.domid = Integer.parseInt(info.getProperty("domid"));
        this.name = info.getProperty("name");
        this.memoryBytes = Long.parseLong(info.getProperty("memory-bytes"));
        this.maxEventChannels = Integer.parseInt(info.getProperty("max-event-channels"));
        this.lockChannel = lockChannel;
        this.kernelLock = kernelLock;
        this.memory = memory;
        this.grantTable = grantTable;
        GrantTableView table = new GrantTableView(grantTable.whole().buffer(0, (int) grantTable.whole().length()));
        this.gntalloc = new Gntalloc(domid, memory, table, Integer.parseInt(info.getProperty("gntalloc-limit")));
    }

    /**
     * Attaches to the domain whose directory is {@code domainDir}.
     *
     * @throws XenException ENOENT when it is not a domain directory (or the domain is gone); EBUSY when another
     *                      process is attached already; EPROTO (71) for another ABI version
     */
    public static SimGuest attach(Path domainDir) throws XenException {
        Properties info = new Properties();
        try (Reader r = Files.newBufferedReader(domainDir.resolve(SimAbi.FILE_INFO))) {
            info.load(r);
        } catch (IOException e) {
            throw new XenException("attach", XenErrno.ENOENT, domainDir + ": " + e.getMessage());
        }
        if (!Integer.toString(SimAbi.VERSION).equals(info.getProperty("abi-version"))) {
            throw new XenException("attach", 71, "ABI version " + info.getProperty("abi-version"));
        }
        FileChannel lockChannel = null;
        PageFile memory = null;
        try {
            Path grantPath = domainDir.resolve(SimAbi.FILE_GRANT_TABLE);
            lockChannel = FileChannel.open(grantPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                lockChannel.close();
                throw new XenException("attach", XenErrno.EBUSY, "domain " + domainDir + " has a kernel already");
            }
            long bytes = Long.parseLong(info.getProperty("memory-bytes"));
            memory = PageFile.open(domainDir.resolve(SimAbi.FILE_MEMORY), bytes / PageFile.PAGE, true);
            long entries = Long.parseLong(info.getProperty("grant-entries"));
            PageFile grants = PageFile.open(grantPath, entries * SimAbi.GRANT_ENTRY_LENGTH / PageFile.PAGE, true);
            return new SimGuest(domainDir, info, lockChannel, lock, memory, grants);
        } catch (IOException | RuntimeException e) {
            if (memory != null) {
                memory.close();
            }
            try {
                if (lockChannel != null) {
                    lockChannel.close();
                }
            } catch (IOException ignored) {
                // failing anyway
            }
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
    public GrantSharer openGrantSharer() {
        return gntalloc.openSharer();
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

    /** Detaches: unmaps memory and the grant table and gives up the kernel lock. Shared buffers become invalid. */
    @Override
    public void close() {
        memory.close();
        grantTable.close();
        try {
            kernelLock.release();
            lockChannel.close();
        } catch (IOException e) {
            // the lock goes with the channel anyway
        }
    }
}
