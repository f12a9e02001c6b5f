package io.vmrdma.xen.sim.internal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStorePermission;
import io.vmrdma.api.xen.XenStorePermission.Access;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.internal.abi.Gntalloc;
import io.vmrdma.xen.sim.internal.abi.PageFile;
import io.vmrdma.xen.sim.internal.xenstore.XenStored;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated hypervisor: owns the domains, their grant tables and event channels, the xenstored and the
 * socket server, and acts as the toolstack ({@link DomainControl}). dom0 is this JVM.
 *
 * <p>Files live in {@code <stateDirectory>/hv-<pid>/domains/<domid>/} (see docs/sim-abi.md). dom0 maps each
 * guest's memory file once, whole: every grant map is then a slice of that mapping plus the grant-table checks,
 * and only grants of scattered frames cost a mapping of their own.
 */
public final class SimHypervisor implements DomainControl, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SimHypervisor.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final int DOMID_MAX = 0x7FEF;

    private final SimSettings settings;
    private final Path runDir;
    private final SimCounters counters = new SimCounters();
    private final GrantOps grantOps;
    private final EventChannels eventChannels;
    private final XenStored xenstored;
    private final SimIo io;
    private final Map<Integer, SimDomain> domains = new TreeMap<>();
    private final Map<Integer, List<SimIo.Listener>> listeners = new TreeMap<>();
    private final SimDomain dom0;
    private final XenStore toolstack;
    private final Dom0Hypervisor dom0Access;
    /** Serialises domain destruction with itself and with stopping, so no clean-up runs half-way into close. */
    private final Object lifecycle = new Object();
    private int nextDomid = 1;
    private boolean closed;

    SimHypervisor(SimSettings settings) throws IOException, XenException {
        this.settings = settings.validate();
        Files.createDirectories(settings.stateDirectory());
        removeStaleRuns(settings.stateDirectory());
        this.runDir = settings.stateDirectory().resolve("hv-" + ProcessHandle.current().pid());
        deleteTree(runDir);
        Files.createDirectories(runDir.resolve("domains"));
        this.grantOps = new GrantOps(counters, settings.maxMaptrackFrames() * SimSettings.MAPTRACK_PER_FRAME);
        this.eventChannels = new EventChannels(counters, new ChannelPipes(runDir));
        this.xenstored = new XenStored(settings.xenstore(), counters);
        this.io = new SimIo(counters);
        this.dom0 = makeDomain(0, "Domain-0", settings.dom0MemoryBytes(), SimSettings.DOM0_EVENT_CHANNELS);
        this.dom0Access = new Dom0Hypervisor(this);
        this.toolstack = dom0Access.openXenStore();
        toolstack.write(0, "/local/domain/0/name", bytes("Domain-0"));
        toolstack.write(0, "/local/domain/0/domid", bytes("0"));
        LOG.info("xen.sim started in {}", runDir);
    }

    /** Starts a simulator with Xen's default limits under {@code stateDirectory}. */
    public static SimHypervisor start(Path stateDirectory) throws IOException, XenException {
        return new SimHypervisor(SimSettings.defaults(stateDirectory));
    }

    static SimHypervisor start(SimSettings settings) throws IOException, XenException {
        return new SimHypervisor(settings);
    }

    /** dom0's access to this hypervisor. */
    public Dom0Hypervisor dom0() {
        return dom0Access;
    }

    public SimCounters counters() {
        return counters;
    }

    /** This instance's directory, {@code <stateDirectory>/hv-<pid>}. */
    public Path runDirectory() {
        return runDir;
    }

    /** The directory of a domain: what a guest gets in {@link SimAbi#ENV_DOMAIN_DIR}. */
    public Path domainDirectory(int domid) {
        return runDir.resolve("domains").resolve(Integer.toString(domid));
    }

    SimSettings settings() {
        return settings;
    }

    GrantOps grantOps() {
        return grantOps;
    }

    EventChannels eventChannels() {
        return eventChannels;
    }

    XenStored xenstored() {
        return xenstored;
    }

    Gntalloc dom0Gntalloc() {
        return dom0.gntalloc;
    }

    SimDomain dom0Domain() {
        return dom0;
    }

    /** A domain that exists and is not dying, or null. */
    synchronized SimDomain liveDomain(int domid) {
        SimDomain d = domains.get(domid);
        return d == null || d.dying ? null : d;
    }

    // ---- toolstack ----

    @Override
    public int create(String name, long memoryBytes) throws XenException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new XenException("xl create", XenErrno.EINVAL, "name must be 1-64 of [A-Za-z0-9_.-]: " + name);
        }
        if (memoryBytes <= 0 || memoryBytes % 4096 != 0 || memoryBytes > settings.maxDomainMemoryBytes()) {
            throw new XenException("xl create", XenErrno.EINVAL,
                    "memory must be whole pages up to " + settings.maxDomainMemoryBytes() + " bytes: " + memoryBytes);
        }
        SimDomain d;
        synchronized (this) {
            checkOpen();
            checkNameFree("xl create", name);
            int domid = allocateDomid();
            try {
                d = makeDomain(domid, name, memoryBytes, settings.maxEventChannels() + 1);
            } catch (IOException e) {
                throw new XenException("xl create", XenErrno.ENOSPC, e.getMessage());
            }
        }
        writeHome(d);
        xenstored.introduceDomain();
        LOG.info("domain {} '{}' created with {} MiB", d.domid, name, memoryBytes >> 20);
        return d.domid;
    }

    @Override
    public long start(int domid, List<String> command) throws XenException {
        SimDomain d;
        synchronized (this) {
            d = liveDomain(domid);
            if (d == null || domid == 0) {
                throw new XenException("xl create", XenErrno.ESRCH, "no guest domain " + domid);
            }
            if (d.process != null) {
                throw new XenException("xl create", XenErrno.EBUSY, "domain " + domid + " already runs");
            }
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().put(SimAbi.ENV_DOMAIN_DIR, d.dir.toString());
            // So Debian's libxenstore inside the guest talks to this domain's own xenstored socket.
            pb.environment().put("XENSTORED_PATH", d.dir.resolve(SimAbi.SOCKET_XENSTORE).toString());
            pb.redirectErrorStream(true);
            pb.redirectOutput(d.dir.resolve(SimAbi.FILE_CONSOLE).toFile());
            try {
                d.process = pb.start();
            } catch (IOException e) {
                throw new XenException("xl create", XenErrno.EIO, "cannot start " + command + ": " + e.getMessage());
            }
        }
        Process p = d.process;
        p.onExit().thenRun(() -> {
            try {
                destroy(domid, p);
            } catch (RuntimeException e) {
                LOG.warn("cleaning up domain {} after its guest exited", domid, e);
            }
        });
        LOG.info("domain {} '{}' started as pid {}", domid, d.name, p.pid());
        return p.pid();
    }

    @Override
    public void destroy(int domid) throws XenException {
        if (domid == 0) {
            throw new XenException("xl destroy", XenErrno.EPERM, "dom0 cannot be destroyed");
        }
        synchronized (this) {
            if (liveDomain(domid) == null) {
                throw new XenException("xl destroy", XenErrno.ESRCH, "no domain " + domid);
            }
        }
        destroy(domid, null);
    }

    @Override
    public synchronized List<DomainInfo> list() {
        List<DomainInfo> out = new ArrayList<>();
        for (SimDomain d : domains.values()) {
            if (!d.dying) {
                boolean running = d.domid == 0 || d.process != null && d.process.isAlive();
                out.add(new DomainInfo(d.domid, d.name, d.memoryBytes, running));
            }
        }
        return out;
    }

    /** Destroys a domain (once); {@code exited} is the process that ended, or null when the toolstack asks. */
    private void destroy(int domid, Process exited) {
        synchronized (lifecycle) {
            destroyLocked(domid, exited);
        }
    }

    private void destroyLocked(int domid, Process exited) {
        SimDomain d;
        synchronized (this) {
            d = domains.get(domid);
            if (d == null || d.dying || exited != null && d.process != exited) {
                return;
            }
            d.dying = true;
        }
        if (exited == null) {
            shutDownGuests(List.of(d));
        } else {
            killRemaining(d);
        }
        tearDown(d);
    }

    /** What destroying a domain leaves to do once its processes are ended (or run elsewhere). */
    private void tearDown(SimDomain d) {
        int domid = d.domid;
        List<SimIo.Listener> ls;
        synchronized (this) {
            ls = listeners.remove(domid);
        }
        if (ls != null) {
            ls.forEach(SimIo.Listener::close);
        }
        eventChannels.removeDomain(domid);
        try {
            toolstack.rm(0, "/local/domain/" + domid);
        } catch (XenException e) {
            LOG.warn("removing the XenStore home of domain {}", domid, e);
        }
        xenstored.releaseDomain(domid);
        boolean release;
        synchronized (d) {
            release = d.foreignPins == 0;
        }
        if (release) {
            release(d);
        }
        LOG.info("domain {} '{}' destroyed", domid, d.name);
    }

    /**
     * Ends guests as a host shutdown does: asks each to power off through {@code control/shutdown}, then sends
     * SIGTERM, then SIGKILL, each after half the grace period, to every process of the domain (the one the
     * toolstack started and every program running in it, {@link DomainProcesses}).
     */
    private void shutDownGuests(List<SimDomain> guests) {
        List<ProcessHandle> running = new ArrayList<>();
        for (SimDomain d : guests) {
            if (d.process != null && d.process.isAlive()) {
                running.add(d.process.toHandle());
                try {
                    toolstack.write(0, "/local/domain/" + d.domid + "/control/shutdown", bytes("poweroff"));
                } catch (XenException e) {
                    LOG.debug("asking domain {} to power off", d.domid, e);
                }
            }
            DomainProcesses.of(d.dir).stream().filter(p -> !running.contains(p)).forEach(running::add);
        }
        long half = settings.guestShutdownMillis() / 2;
        waitFor(running, half);
        running.removeIf(p -> !p.isAlive());
        if (!running.isEmpty()) {
            LOG.warn("{} guest process(es) did not power off within {} ms: terminating them", running.size(), half);
        }
        running.forEach(p -> counters.increment(SimCounters.Counter.GUESTS_TERMINATED));
        running.forEach(ProcessHandle::destroy);
        waitFor(running, half);
        running.removeIf(p -> !p.isAlive());
        running.forEach(ProcessHandle::destroyForcibly);
        waitFor(running, 5000);
    }

    /** The programs left in a domain whose first process exited: the VM is gone, so they end at once. */
    private void killRemaining(SimDomain d) {
        List<ProcessHandle> left = DomainProcesses.of(d.dir);
        left.forEach(ProcessHandle::destroyForcibly);
        waitFor(left, 5000);
    }

    private static void waitFor(List<ProcessHandle> processes, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (ProcessHandle p : processes) {
            try {
                p.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // still running: the next step deals with it
            }
        }
    }

    // ---- moves (DomainMove) ----

    /**
     * Makes the domain a guest moving here arrives in, as {@code xl migrate-receive} does: domain id {@code domid}
     * (the one it had: vmrdma names queue pairs by node, domid and number), its name and memory size, its XenStore
     * home; nothing runs in it until the move resumes it.
     *
     * @throws XenException EEXIST when the id or the name is taken here
     */
    SimDomain receive(int domid, String name, long memoryBytes) throws XenException {
        SimDomain d;
        synchronized (this) {
            checkOpen();
            if (domains.containsKey(domid)) {
                throw new XenException("xl migrate-receive", XenErrno.EEXIST, "domain " + domid + " exists here");
            }
            checkNameFree("xl migrate-receive", name);
            try {
                d = makeDomain(domid, name, memoryBytes, settings.maxEventChannels() + 1);
            } catch (IOException e) {
                throw new XenException("xl migrate-receive", XenErrno.ENOSPC, e.getMessage());
            }
        }
        writeHome(d);
        xenstored.introduceDomain();
        LOG.info("domain {} '{}' arriving with {} MiB", domid, name, memoryBytes >> 20);
        return d;
    }

    /** A domain that moved away: it goes as a destroyed one does, except that its processes run on elsewhere. */
    void departed(SimDomain d) {
        synchronized (lifecycle) {
            synchronized (this) {
                if (d.dying) {
                    return;
                }
                d.dying = true;
            }
            tearDown(d);
        }
    }

    /** The guest process of a domain that moved here: its end destroys the domain here. */
    void adoptProcess(SimDomain d, Process process) {
        synchronized (this) {
            d.process = process;
        }
        process.onExit().thenRun(() -> destroy(d.domid, process));
    }

    XenStore toolstack() {
        return toolstack;
    }

    /** Unmaps a grant map; the last unmap of a dying domain's grants releases its memory, as Xen frees a zombie. */
    void unmap(GrantMap map) {
        if (grantOps.unmap(map)) {
            release(map.granter);
        } else {
            // Under the domain's lock: release() marks it released there before it unmaps the grant table.
            synchronized (map.granter) {
                if (!map.granter.released) {
                    map.granter.gntalloc.reclaimUnmapped();
                }
            }
        }
    }

    private void release(SimDomain d) {
        synchronized (d) {
            if (d.released) {
                return;
            }
            d.released = true;
        }
        synchronized (this) {
            domains.remove(d.domid);
        }
        d.memory.close();
        d.grantTableFile.close();
        try {
            deleteTree(d.dir);
        } catch (IOException e) {
            LOG.warn("removing {}", d.dir, e);
        }
    }

    // ---- set-up ----

    private SimDomain makeDomain(int domid, String name, long memoryBytes, int eventChannelPorts) throws IOException {
        Path dir = domainDirectory(domid);
        Files.createDirectories(dir);
        Path memoryPath = dir.resolve(SimAbi.FILE_MEMORY);
        Path grantPath = dir.resolve(SimAbi.FILE_GRANT_TABLE);
        long grantBytes = (long) settings.maxGrantFrames() * 4096;
        sized(memoryPath, memoryBytes);
        sized(grantPath, grantBytes);
        PageFile memory = PageFile.open(memoryPath, memoryBytes / 4096, true);
        PageFile grantTable;
        try {
            grantTable = PageFile.open(grantPath, grantBytes / 4096, true);
        } catch (IOException e) {
            memory.close();
            throw e;
        }
        SimDomain d = new SimDomain(domid, name, memoryBytes, dir, memory, grantTable, settings.gntallocLimit());
        Files.writeString(dir.resolve(SimAbi.FILE_INFO), info(d));
        eventChannels.addDomain(domid, eventChannelPorts);
        List<SimIo.Listener> ls = new ArrayList<>();
        ls.add(io.listen(dir.resolve(SimAbi.SOCKET_XENSTORE), c -> new XenStoreSocket(xenstored, counters, domid, c)));
        if (domid != 0) {
            ls.add(io.listen(dir.resolve(SimAbi.SOCKET_HYPERCALL), c -> new HypercallHandle(this, d)));
        }
        synchronized (this) {
            domains.put(domid, d);
            listeners.put(domid, ls);
        }
        return d;
    }

    private String info(SimDomain d) {
        return "abi-version=" + SimAbi.VERSION + "\n"
                + "domid=" + d.domid + "\n"
                + "name=" + d.name + "\n"
                + "memory-bytes=" + d.memoryBytes + "\n"
                + "grant-entries=" + d.grants.entries() + "\n"
                + "gntalloc-limit=" + settings.gntallocLimit() + "\n"
                + "max-event-channels=" + settings.maxEventChannels() + "\n";
    }

    /**
     * The toolstack's part of domain creation, as libxl writes it: a home the guest reads, {@code device/} and
     * {@code control/} it may only read (backends and the toolstack make what the guest may write in them), and
     * directories it owns.
     */
    private void writeHome(SimDomain d) throws XenException {
        String home = "/local/domain/" + d.domid;
        List<XenStorePermission> readOnly = List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(d.domid, Access.READ));
        List<XenStorePermission> guestOwned = List.of(new XenStorePermission(d.domid, Access.NONE));
        int tx;
        do {
            tx = toolstack.transactionStart();
            toolstack.mkdir(tx, home);
            toolstack.setPermissions(tx, home, readOnly);
            toolstack.write(tx, home + "/name", bytes(d.name));
            toolstack.write(tx, home + "/domid", bytes(Integer.toString(d.domid)));
            toolstack.write(tx, home + "/memory/target", bytes(Long.toString(d.memoryBytes / 1024)));
            for (String dir : new String[] {"device", "control"}) {
                toolstack.mkdir(tx, home + "/" + dir);
                toolstack.setPermissions(tx, home + "/" + dir, readOnly);
            }
            for (String dir : new String[] {"data", "drivers", "feature", "attr", "error"}) {
                toolstack.mkdir(tx, home + "/" + dir);
                toolstack.setPermissions(tx, home + "/" + dir, guestOwned);
            }
        } while (!toolstack.transactionEnd(tx, false));
    }

    private int allocateDomid() throws XenException {
        for (int i = 0; i < DOMID_MAX; i++) {
            int candidate = nextDomid;
            nextDomid = nextDomid >= DOMID_MAX ? 1 : nextDomid + 1;
            if (!domains.containsKey(candidate)) {
                return candidate;
            }
        }
        throw new XenException("xl create", XenErrno.ENOSPC, "no free domid");
    }

    private void checkNameFree(String operation, String name) throws XenException {
        for (SimDomain other : domains.values()) {
            if (!other.dying && other.name.equals(name)) {
                throw new XenException(operation, XenErrno.EEXIST, "a domain is named " + name);
            }
        }
    }

    private void checkOpen() throws XenException {
        if (closed) {
            throw new XenException("xl create", XenErrno.ESRCH, "the simulator is stopping");
        }
    }

    private static void sized(Path path, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
            f.setLength(bytes);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Removes run directories of simulators whose JVM is gone (a crash leaves them behind). */
    private static void removeStaleRuns(Path stateDirectory) throws IOException {
        try (Stream<Path> runs = Files.list(stateDirectory)) {
            for (Path run : (Iterable<Path>) runs::iterator) {
                String name = run.getFileName().toString();
                if (name.matches("hv-\\d+")) {
                    long pid = Long.parseLong(name.substring(3));
                    if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                        continue;
                    }
                    deleteTree(run);
                }
            }
        }
    }

    /**
     * Removes a directory tree. A dying domain's last grant unmapped (on a backend's thread) releases its directory
     * while its destruction may still be closing its sockets, whose files then vanish under the walk: it starts over.
     */
    private static void deleteTree(Path root) throws IOException {
        for (int attempt = 1;; attempt++) {
            if (!Files.exists(root)) {
                return;
            }
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(p);
                }
                return;
            } catch (java.io.UncheckedIOException e) {
                if (attempt == 3 || !(e.getCause() instanceof java.nio.file.NoSuchFileException)) {
                    throw e.getCause();
                }
            }
        }
    }

    /**
     * Stops the hypervisor as a host shutdown would: every guest is asked to power off, then ended; every port,
     * grant map and connection goes; memory is unmapped and the run directory removed. Callers must have stopped
     * using every buffer this simulator handed out (the DS component is unregistered before this runs).
     */
    @Override
    public void close() {
        List<SimDomain> guests;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            guests = new ArrayList<>();
            for (SimDomain d : domains.values()) {
                if (d.domid != 0) {
                    guests.add(d);
                }
            }
        }
        shutDownGuests(guests);
        synchronized (lifecycle) {
            for (SimDomain d : guests) {
                destroyLocked(d.domid, null);
            }
            dom0Access.closeAll();
        }
        io.close();
        List<SimDomain> left;
        synchronized (this) {
            left = new ArrayList<>(domains.values());
        }
        for (SimDomain d : left) {
            release(d);
        }
        try {
            deleteTree(runDir);
        } catch (IOException e) {
            LOG.warn("removing {}", runDir, e);
        }
        LOG.info("xen.sim stopped");
    }
}
