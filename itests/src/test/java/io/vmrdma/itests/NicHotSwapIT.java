package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.inject.Inject;

import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.XenException;
import org.apache.karaf.features.FeaturesService;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The NIC binding swapped under a transfer that crosses it. The second node is {@link RemoteNode}: the engine and
 * {@code nic.udp} from the distribution's own jars in a JVM of its own, on 127.0.0.1, so the container's engine
 * (node 1, {@code nic = udp}) reaches it only through its binding. A simulated guest in the container
 * ({@link SwapClient}) RDMA WRITEs seeded chunks into node 2's window and READs each back, checking every byte,
 * while the test uninstalls and reinstalls the {@code nic.udp} bundle, or switches the binding by configuration.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NicHotSwapIT {

    private static final long SERVICE = 4711;
    private static final int CHUNK = 256 * 1024;
    private static final int MIN_ROUNDS = 20;
    private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);
    /** By name: the probe must never load the classes that run in other JVMs (they need bundles it does not see). */
    private static final String REMOTE_NODE = "io.vmrdma.itests.RemoteNode";
    private static final String SWAP_CLIENT = "io.vmrdma.itests.SwapClient";

    /** The second node, started once per container. */
    private static Process remote;
    private static int localPort;
    private static int remotePort;

    @Inject
    private BundleContext context;

    @Inject
    private SessionFactory sessions;

    @Inject
    private Node node;

    @Inject
    private PeerRegistry peers;

    @Inject
    private ConfigurationAdmin configurations;

    @Inject
    private DomainControl toolstack;

    @Inject
    private FeaturesService features;

    private final List<Integer> guests = new ArrayList<>();

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        Option[] base = VmrdmaDistribution.options();
        Option[] all = Arrays.copyOf(base, base.length + 1);
        all[base.length] = systemProperty("vmrdma.itests.classes")
                .value(new File("target/test-classes").getAbsolutePath());
        return all;
    }

    /** nic.udp on 127.0.0.1 in the container, node 2 in its own JVM, each the other's static peer, node 2 up. */
    @Before
    public void twoNodesOverUdp() throws Exception {
        if (remote == null) {
            localPort = freeUdpPort();
            remotePort = freeUdpPort();
            update("io.vmrdma.nic.udp", "bindAddress", "127.0.0.1", "port", Integer.toString(localPort));
            installUdp();
            update("io.vmrdma.nic.udp", "bindAddress", "127.0.0.1", "port", Integer.toString(localPort));
            remote = startRemoteNode();
            Runtime.getRuntime().addShutdownHook(new Thread(remote::destroyForcibly));
        }
        if (bundle("io.vmrdma.nic.udp").isEmpty()) {
            installUdp();
        }
        update("io.vmrdma.engine", "nic", "udp", "peer.2", udpAddress(remotePort));
        await("the engine on nic.udp", () -> node.nicBinding().equals(Optional.of("udp")));
        await("node 2 up", () -> peers.byNode(2).map(PeerInfo::up).orElse(false));
    }

    @After
    public void destroyGuests() {
        for (int domid : guests) {
            try {
                toolstack.destroy(domid);
            } catch (XenException e) {
                // it ended by itself
            }
        }
    }

    @Test
    public void aTransferAcrossTheNicCompletesByteIdenticalAfterTheBindingIsUninstalledAndReinstalled()
            throws Exception {
        Path run = startClient("swap-bundle");
        awaitRounds(run, 3);

        Bundle udp = bundle("io.vmrdma.nic.udp").orElseThrow();
        String location = udp.getLocation();
        int level = udp.adapt(BundleStartLevel.class).getStartLevel();
        udp.uninstall();
        assertEquals("no binding while nic.udp is gone", Optional.empty(), node.nicBinding());
        int before = rounds(run);
        Thread.sleep(1500);
        assertTrue("no round completes without a binding", rounds(run) <= before + 1);
        assertFalse("the transfer is still going", Files.exists(run.resolve("result")));

        Bundle again = context.installBundle(location);
        again.adapt(BundleStartLevel.class).setStartLevel(level);
        again.start();
        await("nic.udp back", () -> node.nicBinding().equals(Optional.of("udp")));
        awaitRounds(run, before + 5);
        finish(run);

        PeerInfo two = peers.byNode(2).orElseThrow();
        assertEquals(PeerInfo.Origin.STATIC, two.origin());
        assertTrue(two.framesSent() > 0 && two.framesReceived() > 0);
        String table = new Console(sessions).run("vmrdma:peers");
        assertTrue(table,
                Pattern.compile("\\s2 \\|\\s+7f:00:00:01:\\S+\\s+\\|\\s+static\\s+\\|\\s+up\\s+\\|\\s+1\\s+\\|")
                        .matcher(table).find());
    }

    @Test
    public void theBindingFollowsConfigurationAndABadValueIsRefused() throws Exception {
        update("io.vmrdma.engine", "nic", "ethernet");
        Thread.sleep(500);
        assertEquals("a bad value leaves the binding", Optional.of("udp"), node.nicBinding());

        Path run = startClient("swap-config");
        awaitRounds(run, 3);
        // A bad value in the binding's own configuration: refused before it reaches the binding, which keeps the
        // settings in force (Declarative Services may restart it on them, since its configuration changed to what
        // the guard put back), and traffic goes on to node 2 through the same port.
        update("io.vmrdma.nic.udp", "port", "99999");
        try {
            await("nic.udp on its settings", () -> node.nicBinding().equals(Optional.of("udp")));
            awaitRounds(run, rounds(run) + 3);
            Path log = Path.of(System.getProperty("karaf.log"), "karaf.log");
            assertTrue("the refusal is logged", Files.readAllLines(log).stream().anyMatch(line -> line.contains(
                    "configuration io.vmrdma.nic.udp refused, previous settings stay: nic.udp port must be 0 to"
                            + " 65535, not 99999")));
        } finally {
            update("io.vmrdma.nic.udp", "port", Integer.toString(localPort));
        }
        update("io.vmrdma.engine", "nic", "packet");   // not installed: no binding, timers pause
        await("no binding", () -> node.nicBinding().isEmpty());
        int before = rounds(run);
        Thread.sleep(1500);
        assertTrue("no round completes without a binding", rounds(run) <= before + 1);
        update("io.vmrdma.engine", "nic", "udp");
        await("back on nic.udp", () -> node.nicBinding().equals(Optional.of("udp")));
        awaitRounds(run, before + 5);
        finish(run);

        update("io.vmrdma.engine", "nic", "loopback");
        await("on nic.loopback", () -> node.nicBinding().equals(Optional.of("loopback")));
        assertTrue(Pattern.compile("NIC binding\\s+\\|\\s+loopback").matcher(new Console(sessions).run("vmrdma:status"))
                .find());
        update("io.vmrdma.engine", "nic", "udp");
        await("on nic.udp again", () -> node.nicBinding().equals(Optional.of("udp")));
        Path second = startClient("swap-again");
        awaitRounds(second, 1);
        finish(second);
    }

    // ------------------------------------------------------------------------------------------------------------

    private Process startRemoteNode() throws Exception {
        Path home = Path.of(System.getProperty("karaf.home"));
        String classpath = String.join(File.pathSeparator, System.getProperty("vmrdma.itests.classes"),
                home.resolve("lib/guest/io.vmrdma.api.jar").toString(),
                home.resolve("lib/guest/agrona.jar").toString(),
                home.resolve("lib/guest/jna.jar").toString(),
                jar(home.resolve("system/io/vmrdma/io.vmrdma.engine")),
                jar(home.resolve("system/io/vmrdma/io.vmrdma.nic.udp")),
                jar(home.resolve("system/io/vmrdma/io.vmrdma.nic.socket")),
                jar(home.resolve("system/org/ops4j/pax/logging/pax-logging-api")),
                jar(home.resolve("lib/boot"), "osgi.core-"));
        Path log = Files.createTempFile(workDirectory(), "remote-node", ".log");
        Process process = new ProcessBuilder(java(), "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", classpath, REMOTE_NODE, "2", "127.0.0.1:" + remotePort, "1",
                "127.0.0.1:" + localPort, Long.toString(SERVICE), Integer.toString(CHUNK),
                Path.of(System.getProperty("karaf.etc"), "io.vmrdma.cluster.secret").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        await("node 2 ready (" + log + ")", () -> read(log).contains("READY"));
        return process;
    }

    /** Boots a simulated guest running {@link SwapClient} against node 2; returns its directory. */
    private Path startClient(String name) throws Exception {
        Path run = Files.createTempDirectory(workDirectory(), name);
        Path home = Path.of(System.getProperty("karaf.home"));
        int domid = toolstack.create(name, 64L << 20);
        guests.add(domid);
        toolstack.start(domid, List.of(java(), "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", home.resolve("lib/guest").resolve("*") + File.pathSeparator
                        + System.getProperty("vmrdma.itests.classes"),
                "io.vmrdma.xen.sim.guest.GuestMain", SWAP_CLIENT, "2", Long.toString(SERVICE),
                Integer.toString(CHUNK), Integer.toString(MIN_ROUNDS), run.toString()));
        return run;
    }

    /** Lets the client end after its current round and checks it saw every byte come back. */
    private void finish(Path run) throws Exception {
        Files.createFile(run.resolve("finish"));
        await("the client's result", () -> Files.exists(run.resolve("result")));
        String result = read(run.resolve("result"));
        assertTrue(result, result.startsWith("OK "));
        assertTrue(result, Integer.parseInt(result.split(" ")[1]) >= MIN_ROUNDS);
    }

    private void awaitRounds(Path run, int rounds) throws Exception {
        await(rounds + " rounds", () -> {
            if (Files.exists(run.resolve("result"))) {
                throw new AssertionError("the client ended early: " + read(run.resolve("result")));
            }
            return rounds(run) >= rounds;
        });
    }

    private static int rounds(Path run) {
        String text = read(run.resolve("progress"));
        return text.isEmpty() ? 0 : Integer.parseInt(text.trim());
    }

    /** Installs the nic.udp feature without refreshing other bundles (this test's probe among them). */
    private void installUdp() throws Exception {
        features.installFeature("vmrdma-nic-udp", java.util.EnumSet.of(FeaturesService.Option.NoAutoRefreshBundles));
        // A configuration written while the port is still being activated would race its activation.
        await("nic.udp registered", () -> registered("udp"));
    }

    private boolean registered(String binding) {
        try {
            return !context.getServiceReferences(NicPort.class, "(" + NicPort.BINDING_PROPERTY + "=" + binding + ")")
                    .isEmpty();
        } catch (InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private void update(String pid, String... keyValues) throws IOException {
        Configuration configuration = configurations.getConfiguration(pid, null);
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        for (int i = 0; i < keyValues.length; i += 2) {
            properties.put(keyValues[i], keyValues[i + 1]);
        }
        configuration.update(properties);
        awaitSaved(pid, keyValues);
    }

    /**
     * Waits until Karaf has written the change into etc/PID.cfg. Otherwise its file watcher may read the file as it
     * was before a quick second change and put the older values back, undoing what the test just set.
     */
    private static void awaitSaved(String pid, String... keyValues) throws IOException {
        Path file = Path.of(System.getProperty("karaf.etc"), pid + ".cfg");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Files.exists(file) && System.nanoTime() < deadline) {
            String text = Files.readString(file);
            boolean saved = true;
            for (int i = 0; i < keyValues.length; i += 2) {
                saved &= Pattern.compile("(?m)^\\s*" + Pattern.quote(keyValues[i]) + "\\s*=\\s*"
                        + Pattern.quote(keyValues[i + 1]) + "\\s*$").matcher(text).find();
            }
            if (saved) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private Optional<Bundle> bundle(String symbolicName) {
        return Stream.of(context.getBundles()).filter(b -> symbolicName.equals(b.getSymbolicName())).findFirst();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + MINUTE;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited a minute for " + what + "; the container's log ends:\n" + logTail());
            }
            Thread.sleep(50);
        }
    }

    /** The last lines of the container's karaf.log at WARN and above, for a failure message (the folder goes). */
    private static String logTail() {
        Path log = Path.of(System.getProperty("karaf.data"), "log", "karaf.log");
        List<String> lines = read(log).lines().filter(l -> l.contains("| WARN ") || l.contains("| ERROR ")
                || l.contains("vmrdma")).collect(java.util.stream.Collectors.toList());
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Under the module's target/, so a clean build removes the clients' files and a failed run keeps them. */
    private static Path workDirectory() throws IOException {
        Path classes = Path.of(System.getProperty("vmrdma.itests.classes"));
        return Files.createDirectories(classes.resolveSibling("nic-hot-swap"));
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String jar(Path directory) throws IOException {
        return jar(directory, "");
    }

    /** The one jar named {@code prefix...} under {@code directory} (the distribution has one version of each). */
    private static String jar(Path directory, String prefix) throws IOException {
        try (Stream<Path> files = Files.walk(directory)) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)
                    && f.getFileName().toString().endsWith(".jar"))
                    .findFirst().orElseThrow(() -> new IOException("no " + prefix + "*.jar under " + directory))
                    .toString();
        }
    }

    /** The nic.udp link address of 127.0.0.1:{@code port}: the IPv4 bytes, then the port, big-endian. */
    private static String udpAddress(int port) {
        return String.format("7f:00:00:01:%02x:%02x", port >>> 8, port & 0xFF);
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return socket.getLocalPort();
        }
    }
}
