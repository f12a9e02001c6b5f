package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * Three dom0s as one cluster (docs/cluster.md), from the distribution the build made: three network namespaces on a
 * bridge (in a fourth namespace, so nothing touches the host's own network), 169.254.21.1-3 on each host's eth0, an
 * instance of the distribution in each with the vmrdma-cluster feature, nic.packet on eth0, the same cluster secret
 * and every host left at node id 1, which the cluster's claims make distinct. One set-up serves every test, in the
 * order of their names;
 * each waits for what it needs with a deadline and says what it saw when that passes. Needs root and iproute2.
 *
 * <p>Prints {@code cluster_config_apply_ms p50=...}: from a console change on node 1 (the publish in its log) to the
 * last of the other nodes applying it (in theirs), over several changes.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class ClusterIT {

    private static final String PREFIX = "vmrdma-cl";
    private static final int HOSTS = 3;
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss,SSS");
    private static String prefix;
    private static Path work;
    /** The node id the cluster gave each host, by host number (index 0 unused). */
    private static final int[] nodeIdOf = new int[HOSTS + 1];

    @BeforeClass
    public static void threeHostsOnABridge() throws Exception {
        removeLeftovers();
        prefix = PREFIX + ProcessHandle.current().pid();
        work = Path.of("target", "cluster-it").toAbsolutePath();
        run(60, "rm", "-rf", work.toString());
        Files.createDirectories(work);
        Path distribution = unpack();
        run(30, "ip", "netns", "add", bridgeNs());
        run(30, "ip", "-n", bridgeNs(), "link", "add", "br0", "type", "bridge");
        run(30, "ip", "-n", bridgeNs(), "link", "set", "br0", "up");
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        for (int host = 1; host <= HOSTS; host++) {
            String ns = ns(host);
            run(30, "ip", "netns", "add", ns);
            run(30, "ip", "-n", ns, "link", "set", "lo", "up");
            check(run(30, "ip", "link", "add", "eth0", "netns", ns, "address", mac(host), "mtu", "9000",
                    "type", "veth", "peer", "name", "vb" + host, "netns", bridgeNs(), "mtu", "9000"));
            run(30, "ip", "-n", bridgeNs(), "link", "set", "vb" + host, "master", "br0", "up");
            run(30, "ip", "-n", ns, "addr", "add", address(host) + "/16", "dev", "eth0");
            run(30, "ip", "-n", ns, "link", "set", "eth0", "up");
            prepare(distribution, host, secret);
        }
        for (int host = 1; host <= HOSTS; host++) {
            start(host);
        }
        for (int host = 1; host <= HOSTS; host++) {
            final int h = host;
            await(h, 240, "vmrdma:cluster",
                    out -> count(out, "(?m)^ *\\d+ \\| 169\\.254\\.21\\.\\d:5701 \\| (this node|up) ") == HOSTS,
                    "node " + h + " to see all " + HOSTS + " members");
        }
    }

    @AfterClass
    public static void down() throws Exception {
        if (prefix == null) {
            return;
        }
        for (int host = 1; host <= HOSTS; host++) {
            kill(host);
            run(30, "ip", "netns", "delete", ns(host));
        }
        run(30, "ip", "netns", "delete", bridgeNs());
    }

    @Test
    public void a_hostsAllAtNodeId1GetDistinctIdsAndATransferToEachIdReachesItsHolder() throws Exception {
        Set<Integer> ids = new HashSet<>();
        String statuses = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!ids.equals(Set.of(1, 2, 3)) && System.nanoTime() < deadline) {
            ids.clear();
            statuses = "";
            for (int host = 1; host <= HOSTS; host++) {
                String status = console(host, "vmrdma:status");
                statuses += status;
                Matcher id = Pattern.compile("Node id\\s+\\|\\s+(\\d+)").matcher(status);
                if (id.find()) {
                    nodeIdOf[host] = Integer.parseInt(id.group(1));
                    ids.add(nodeIdOf[host]);
                }
            }
        }
        assertEquals("node ids the engines run with:\n" + statuses, Set.of(1, 2, 3), ids);
        long restarts = 0;
        for (int host = 1; host <= HOSTS; host++) {
            assertEquals(nodeIdOf[host] + "\n", Files.readString(home(host).resolve("state/cluster/node-id")));
            assertEquals("cluster", property(host, "io.vmrdma.engine", "nodeIdConfirmedBy"));
            Matcher restarted = Pattern.compile("engine restarts for a node id (\\d+)")
                    .matcher(console(host, "vmrdma:cluster"));
            assertTrue(restarted.find());
            restarts += Long.parseLong(restarted.group(1));
        }
        assertEquals("the two hosts that gave up id 1 restarted their engines once each", HOSTS - 1, restarts);
        // Every node finds every other id at the link address of the host that holds it, and a transfer to each id
        // reaches the bench server of that host.
        for (int host = 1; host <= HOSTS; host++) {
            for (int other = 1; other <= HOSTS; other++) {
                if (other != host) {
                    Pattern holder = Pattern.compile("(?m)^ *" + nodeIdOf[other] + " \\| " + mac(other)
                            + " \\|[^|]*\\| up ");
                    await(host, 30, "vmrdma:peers", out -> holder.matcher(out).find(), "the peer " + holder);
                }
            }
        }
        for (int host = 1; host <= HOSTS; host++) {
            String serving = console(host, "vmrdma:bench --serve");
            assertTrue(serving, serving.contains("serving on node " + nodeIdOf[host]));
        }
        try {
            for (int host = 1; host <= HOSTS; host++) {
                int client = host % HOSTS + 1;
                String bench = console(client, "vmrdma:bench --node " + nodeIdOf[host] + " -n 300");
                assertTrue("host " + client + " to node " + nodeIdOf[host] + ":\n" + bench, Pattern
                        .compile("(?m)^ 65536\\s+300\\s").matcher(bench).find());
            }
        } finally {
            for (int host = 1; host <= HOSTS; host++) {
                console(host, "vmrdma:bench --stop");
            }
        }
        String table = console(1, "vmrdma:cluster");
        assertEquals(table, 1, count(table, "\\| this node \\|"));
        assertEquals(table, HOSTS - 1, count(table, "\\| up +\\|"));
        assertTrue(table, table.contains("majority: yes (3 members configured)"));
        assertEquals("one secret, the same fingerprint on every row:\n" + table, HOSTS,
                count(table, "(?m)\\| [0-9a-f]{8} *$"));
        assertTrue(table, !table.contains("cluster secrets differ"));
    }

    @Test
    public void b_partitionAndWeightsSetOnOneNodeReachTheOthersAndLocalSettingsStayLocal() throws Exception {
        console(1, "config:edit io.vmrdma.engine\nconfig:property-set partition.0x0801 \"web1, web2\"\nconfig:update");
        console(1, "vmrdma:weight web1 4");
        console(1, "vmrdma:priority web2 1");
        console(1, "config:edit io.vmrdma.engine\nconfig:property-set maxQps 100\nconfig:update");
        for (int host = 1; host <= HOSTS; host++) {
            awaitProperty(host, "io.vmrdma.engine", "partition.0x0801", "web1, web2");
            awaitProperty(host, "io.vmrdma.engine", "maxQps", "100");
            awaitProperty(host, "io.vmrdma.sched.vm", "web1.weight", "4");
            awaitProperty(host, "io.vmrdma.sched.vm", "web2.priority", "1");
            assertEquals("packet", property(host, "io.vmrdma.engine", "nic"));
        }
        // Values the engine would refuse (a partition key out of range, a quota above its limit) go to no node and
        // are undone where they were typed.
        console(1, "config:edit io.vmrdma.engine\nconfig:property-set partition.0x9001 web3\nconfig:update");
        await(1, 30, "vmrdma:cluster", out -> out.contains("changes refused as invalid 1"), "the refusal counted");
        awaitProperty(1, "io.vmrdma.engine", "partition.0x9001", "<null>");
        assertEquals("<null>", property(2, "io.vmrdma.engine", "partition.0x9001"));
        console(1, "config:edit io.vmrdma.engine\nconfig:property-set maxSge 99\nconfig:update");
        await(1, 30, "vmrdma:cluster", out -> out.contains("changes refused as invalid 2"), "the refusal counted");
        awaitProperty(1, "io.vmrdma.engine", "maxSge", "<null>");
        assertEquals("<null>", property(3, "io.vmrdma.engine", "maxSge"));
        List<String> nodeIds = new ArrayList<>();
        for (int host = 1; host <= HOSTS; host++) {
            nodeIds.add(property(host, "io.vmrdma.engine", "nodeId"));
        }
        assertEquals("node ids stay local: " + nodeIds, HOSTS, new HashSet<>(nodeIds).size());

        List<Long> applyMillis = new ArrayList<>();
        for (int change = 1; change <= 7; change++) {
            String weight = Integer.toString(10 + change);
            console(1, "vmrdma:weight web9 " + weight);
            for (int host = 2; host <= HOSTS; host++) {
                awaitProperty(host, "io.vmrdma.sched.vm", "web9.weight", weight);
            }
            LocalDateTime published = lastLogTime(1, "published \\d+ change\\(s\\) of io.vmrdma.sched.vm");
            LocalDateTime last = published;
            for (int host = 2; host <= HOSTS; host++) {
                LocalDateTime applied = lastLogTime(host, "applied the cluster's io.vmrdma.sched.vm");
                last = applied.isAfter(last) ? applied : last;
            }
            applyMillis.add(java.time.Duration.between(published, last).toMillis());
        }
        applyMillis.sort(null);
        long p50 = applyMillis.get(applyMillis.size() / 2);
        System.out.println("cluster_config_apply_ms p50=" + p50 + " all=" + applyMillis);
        // For ./bench.sh (scripts/bench/report.py): the figure and every sample of this run.
        Path bench = Files.createDirectories(Path.of("target", "bench"));
        Files.writeString(bench.resolve("cluster.json"), "{\"cluster_config_apply_ms\": " + p50
                + ", \"samples_ms\": " + applyMillis + "}\n");
    }

    @Test
    public void c_aPolicyFeatureInstalledClusterWideIsActiveOnAllThree() throws Exception {
        for (int host = 1; host <= HOSTS; host++) {
            String installed = console(host, "feature:list -i");
            assertTrue(installed, !installed.contains("vmrdma-sched-priority"));
        }
        String outcomes = console(2, "vmrdma:cluster-install vmrdma-sched-priority");
        assertEquals(outcomes, HOSTS, count(outcomes, "\\| installed"));
        console(2, "vmrdma:policy priority");
        for (int host = 1; host <= HOSTS; host++) {
            await(host, 60, "vmrdma:status", out -> out.matches("(?s).*Policy\\s+\\|\\s+priority\\b.*"),
                    "the priority policy in charge");
        }
        String bogus = console(3, "vmrdma:cluster-install --timeout 30 vmrdma-no-such-policy");
        assertEquals(bogus, HOSTS, count(bogus, "\\| failed: no feature vmrdma-no-such-policy"));

        // A new version of the policy bundle, in a features repository of its own: every node updates to it. A
        // repository the rollout would have to fetch from a URL is refused on every node.
        String fetched = console(2, "vmrdma:cluster-install --timeout 30 --repository http://169.254.21.9/f.xml "
                + "vmrdma-sched-priority");
        assertEquals(fetched, HOSTS, count(fetched, "\\| failed: repository http://169.254.21.9/f.xml refused"));
        String shipped = shippedPriorityVersion();
        String next = shipped.replaceFirst("^(\\d+)\\.(\\d+)\\.(\\d+).*$", "$1.$2.")
                + (Integer.parseInt(shipped.split("\\.")[2]) + 1);
        String repository = newPriorityVersion(next).toUri().toString();
        String updated = console(1, "vmrdma:cluster-install --repository " + repository + " vmrdma-sched-priority");
        assertEquals(updated, HOSTS, count(updated, "\\| updated from " + Pattern.quote(shipped) + " to "
                + Pattern.quote(next)));
        for (int host = 1; host <= HOSTS; host++) {
            String bundles = console(host, "bundle:list -s -t 0 | grep io.vmrdma.sched.priority");
            assertEquals(bundles, 1, count(bundles, "io\\.vmrdma\\.sched\\.priority"));
            assertTrue(bundles, bundles.matches("(?s).*Active.*" + Pattern.quote(next) + ".*"));
            await(host, 60, "vmrdma:status", out -> out.matches("(?s).*Policy\\s+\\|\\s+priority\\b.*"),
                    "the updated priority policy in charge");
        }
    }

    /** The distribution's priority policy bundle. */
    private static Path shippedPriorityJar() throws IOException {
        try (var jars = Files.walk(home(1).resolve("system/io/vmrdma/io.vmrdma.sched.priority"))) {
            return jars.filter(p -> p.toString().endsWith(".jar")).findFirst().orElseThrow();
        }
    }

    /** The bundle version of the distribution's priority policy, which is its feature's version too. */
    private static String shippedPriorityVersion() throws IOException {
        try (var jar = new java.util.jar.JarFile(shippedPriorityJar().toFile())) {
            return jar.getManifest().getMainAttributes().getValue("Bundle-Version");
        }
    }

    /**
     * A features repository with vmrdma-sched-priority at {@code version}: the distribution's bundle under that
     * bundle version, so that it is a bundle of its own to the framework.
     */
    private static Path newPriorityVersion(String version) throws Exception {
        Path update = Files.createDirectories(work.resolve("update-" + version));
        Path jar = update.resolve("io.vmrdma.sched.priority-" + version + ".jar");
        try (var in = new java.util.jar.JarInputStream(Files.newInputStream(shippedPriorityJar()))) {
            java.util.jar.Manifest manifest = in.getManifest();
            manifest.getMainAttributes().putValue("Bundle-Version", version);
            try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), manifest)) {
                for (var entry = in.getNextJarEntry(); entry != null; entry = in.getNextJarEntry()) {
                    out.putNextEntry(new java.util.jar.JarEntry(entry.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
        }
        Path features = update.resolve("features.xml");
        Files.writeString(features, "<features name=\"vmrdma-update-" + version + "\" "
                + "xmlns=\"http://karaf.apache.org/xmlns/features/v1.6.0\">\n"
                + "  <feature name=\"vmrdma-sched-priority\" version=\"" + version + "\">\n"
                + "    <feature>vmrdma-api</feature>\n"
                + "    <feature dependency=\"true\">scr</feature>\n"
                + "    <bundle start-level=\"80\">" + jar.toUri() + "</bundle>\n"
                + "  </feature>\n"
                + "</features>\n");
        return features;
    }

    @Test
    public void d_conflictingConcurrentChangesEndInOneAgreedState() throws Exception {
        List<Process> writers = new ArrayList<>();
        for (int host = 1; host <= HOSTS; host++) {
            writers.add(client(host, "vmrdma:weight web5 " + (100 * host)).start());
        }
        for (Process writer : writers) {
            writer.getOutputStream().close();
            assertTrue(writer.waitFor(60, TimeUnit.SECONDS));
        }
        String agreed = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Set<String> seen = new HashSet<>();
            for (int host = 1; host <= HOSTS; host++) {
                seen.add(property(host, "io.vmrdma.sched.vm", "web5.weight"));
            }
            if (seen.size() == 1) {
                agreed = seen.iterator().next();
                break;
            }
            Thread.sleep(500);
        }
        assertTrue("one of the values written, not " + agreed, Set.of("100", "200", "300").contains(agreed));
        Thread.sleep(3000);
        for (int host = 1; host <= HOSTS; host++) {
            assertEquals("still agreed on node " + host, agreed, property(host, "io.vmrdma.sched.vm", "web5.weight"));
        }
    }

    @Test
    public void e_aTransferBetweenTwoNodesGoesOnWhileTheThirdIsKilledAndRejoins() throws Exception {
        // Since b, partitions exist: a domain in none talks to nobody. The bench guests get one of their own, set on
        // the node that takes no part in the transfer, in force on the two that do.
        console(3, "config:edit io.vmrdma.engine\nconfig:property-set partition.0x0802 "
                + "\"vmrdma-bench-serve, vmrdma-bench-client\"\nconfig:update");
        for (int host = 1; host <= 2; host++) {
            awaitProperty(host, "io.vmrdma.engine", "partition.0x0802", "vmrdma-bench-serve, vmrdma-bench-client");
        }
        String serving = console(2, "vmrdma:bench --serve");
        assertTrue(serving, serving.contains("serving on node " + nodeIdOf[2]));
        Process bench = client(1, "vmrdma:bench --node " + nodeIdOf[2] + " -D 25").redirectErrorStream(true).start();
        bench.getOutputStream().close();
        StringBuilder benchOutput = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                benchOutput.append(new String(bench.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                benchOutput.append(e);
            }
        });
        reader.start();
        Thread.sleep(5000);
        kill(3);
        await(1, 60, "vmrdma:cluster", out -> out.matches("(?s).*\\| gone +\\|.*"), "node 3 gone");
        console(1, "vmrdma:weight web1 9");
        start(3);
        assertTrue("the bench did not end", bench.waitFor(180, TimeUnit.SECONDS));
        reader.join();
        console(2, "vmrdma:bench --stop");
        assertTrue(benchOutput + "\nnode 1's peers:\n" + console(1, "vmrdma:peers"),
                benchOutput.toString().contains("RDMA_Write BW Test"));
        assertTrue(benchOutput.toString(), Pattern.compile("(?m)^ 65536\\s+\\d+\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d")
                .matcher(benchOutput).find());
        await(3, 240, "vmrdma:cluster", out -> count(out, "\\| (this node|up) +\\|") == HOSTS, "node 3 back");
        awaitProperty(3, "io.vmrdma.sched.vm", "web1.weight", "9");
        assertEquals("node 3 keeps its id", Integer.toString(nodeIdOf[3]), property(3, "io.vmrdma.engine", "nodeId"));
    }

    @Test
    public void f_aSideWithoutMajorityRefusesChangesAndConvergesWhenHealed() throws Exception {
        await(3, 240, "vmrdma:cluster", out -> out.contains("majority: yes")
                && count(out, "\\| (this node|up) +\\|") == HOSTS, "node 3 joined before the split");
        run(30, "ip", "-n", bridgeNs(), "link", "set", "vb3", "down");
        try {
            await(3, 60, "vmrdma:cluster", out -> out.contains("majority: no"), "node 3 to lose the majority");
            await(1, 60, "vmrdma:cluster", out -> out.contains("majority: yes") && out.matches("(?s).*\\| gone +\\|.*"),
                    "nodes 1 and 2 to go on without node 3");
            String before = property(3, "io.vmrdma.sched.vm", "web1.weight");
            console(3, "vmrdma:weight web1 77");
            awaitProperty(3, "io.vmrdma.sched.vm", "web1.weight", before);
            console(1, "vmrdma:weight web1 11");
            awaitProperty(2, "io.vmrdma.sched.vm", "web1.weight", "11");
            assertNotEquals("77", property(1, "io.vmrdma.sched.vm", "web1.weight"));
            // A key deleted on the majority's side while node 3 still holds it.
            console(1, "config:edit io.vmrdma.sched.vm\nconfig:property-delete web2.priority\nconfig:update");
            awaitProperty(2, "io.vmrdma.sched.vm", "web2.priority", "<null>");
            assertEquals("1", property(3, "io.vmrdma.sched.vm", "web2.priority"));
        } finally {
            run(30, "ip", "-n", bridgeNs(), "link", "set", "vb3", "up");
        }
        await(3, 120, "vmrdma:cluster", out -> out.contains("majority: yes"), "node 3 back in the majority");
        awaitProperty(3, "io.vmrdma.sched.vm", "web1.weight", "11");
        awaitProperty(3, "io.vmrdma.sched.vm", "web2.priority", "<null>");
        Thread.sleep(3000);
        for (int host = 1; host <= HOSTS; host++) {
            assertEquals("the key deleted during the split stays deleted on node " + host, "<null>",
                    property(host, "io.vmrdma.sched.vm", "web2.priority"));
        }
        String counters = console(3, "vmrdma:cluster");
        assertTrue(counters, Pattern.compile("changes refused without majority [1-9]").matcher(counters).find());
    }

    // ---- the hosts ----

    private static String ns(int host) {
        return prefix + "-" + host;
    }

    private static String bridgeNs() {
        return prefix + "-br";
    }

    private static String mac(int host) {
        return "02:00:00:00:21:0" + host;
    }

    private static String address(int host) {
        return "169.254.21." + host;
    }

    private static Path home(int host) {
        return work.resolve("host" + host);
    }

    private static Path unpack() throws Exception {
        File archive = new File(System.getProperty("vmrdma.distribution"));
        assertTrue("distribution not built: " + archive, archive.isFile());
        Path into = work.resolve("unpacked");
        Files.createDirectories(into);
        check(run(120, "tar", "xzf", archive.getAbsolutePath(), "-C", into.toString()));
        try (var entries = Files.list(into)) {
            return entries.findFirst().orElseThrow();
        }
    }

    /** One host's instance: nic.packet on eth0, the cluster feature and file, the shared secret, node id 1. */
    private static void prepare(Path distribution, int host, byte[] secret) throws Exception {
        Path home = home(host);
        check(run(120, "cp", "-a", distribution.toString(), home.toString()));
        Path etc = home.resolve("etc");
        Files.write(etc.resolve("io.vmrdma.cluster.secret"), secret);
        run(10, "chmod", "600", etc.resolve("io.vmrdma.cluster.secret").toString());
        Path engine = etc.resolve("io.vmrdma.engine.cfg");
        // Every host at the shipped node id 1: the cluster gives two of them other ids.
        Files.writeString(engine, Files.readString(engine).replaceAll("(?m)^nic *=.*$", "nic = packet")
                .replaceAll("(?m)^nodeId *=.*$", "nodeId = 1"));
        Files.writeString(etc.resolve("io.vmrdma.nic.packet.cfg"), "interfaceName = eth0\n");
        Files.writeString(etc.resolve("io.vmrdma.cluster.cfg"), "members = " + address(1) + ", " + address(2) + ", "
                + address(3) + "\nbindAddress = " + address(host) + "\n");
        // Every policy but priority, which the rollout test installs cluster-wide.
        Path features = etc.resolve("org.apache.karaf.features.cfg");
        String boot = Files.readString(features).replaceFirst("(?m)^( *)vmrdma/[^,]*,",
                "$1vmrdma-engine, vmrdma-nic-packet, vmrdma-xen-sim, vmrdma-sched-rr, vmrdma-sched-drr, "
                        + "vmrdma-sched-shaper, vmrdma-shell, vmrdma-cluster,");
        assertNotEquals("boot features unchanged", Files.readString(features), boot);
        Files.writeString(features, boot);
    }

    private static void start(int host) throws Exception {
        ProcessBuilder start = new ProcessBuilder("setsid", "ip", "netns", "exec", ns(host),
                home(host).resolve("bin/start").toString()).redirectErrorStream(true);
        Path userHome = Files.createDirectories(work.resolve("user-home"));
        start.environment().put("EXTRA_JAVA_OPTS", "-Duser.home=" + userHome);
        check(ProcessRun.of(start, 60));
    }

    /** Kills host's Karaf with SIGKILL, found by its command line. */
    private static void kill(int host) {
        String base = "-Dkaraf.base=" + home(host);
        ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> Arrays.asList(a).contains(base)).orElse(false))
                .forEach(p -> {
                    p.destroyForcibly();
                    p.onExit().join();
                });
    }

    private static ProcessBuilder client(int host, String command) {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", "printf '%s\\n' \"$1\" | ip netns exec \"$2\" \"$3\" "
                + "-u karaf -p karaf -r 5 -d 1 -b", "client", command, ns(host),
                home(host).resolve("bin/client").toString());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return builder;
    }

    private static String console(int host, String command) throws Exception {
        return ProcessRun.of(client(host, command).redirectErrorStream(true), 120).output();
    }

    private static String property(int host, String pid, String key) throws Exception {
        return console(host, "config:property-get -p " + pid + " " + key).strip();
    }

    private static void awaitProperty(int host, String pid, String key, String value) throws Exception {
        await(host, 30, "config:property-get -p " + pid + " " + key, out -> out.strip().equals(value),
                pid + " " + key + " = " + value);
    }

    /** Runs command on host until its output passes, at most seconds; fails with the last output. */
    private static String await(int host, int seconds, String command, Predicate<String> passes, String what)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String output = "";
        while (System.nanoTime() < deadline) {
            output = console(host, command);
            if (passes.test(output)) {
                return output;
            }
            Thread.sleep(500);
        }
        fail("node " + host + ": no " + what + " in " + seconds + " s; " + command + " said:\n" + output
                + "\nlog:\n" + logTail(host));
        return output;
    }

    private static LocalDateTime lastLogTime(int host, String pattern) throws IOException {
        Matcher line = Pattern.compile("(?m)^(\\S+) \\|.*" + pattern).matcher(
                Files.readString(home(host).resolve("data/log/karaf.log")));
        String last = null;
        while (line.find()) {
            last = line.group(1);
        }
        assertTrue("node " + host + " never logged /" + pattern + "/", last != null);
        return LocalDateTime.parse(last, LOG_TIME);
    }

    private static String logTail(int host) {
        try {
            List<String> lines = Files.readAllLines(home(host).resolve("data/log/karaf.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int count(String text, String pattern) {
        Matcher matcher = Pattern.compile(pattern).matcher(text);
        int found = 0;
        while (matcher.find()) {
            found++;
        }
        return found;
    }

    /** Namespaces of test JVMs that were killed before their clean-up ran. */
    private static void removeLeftovers() throws Exception {
        for (String line : run(30, "ip", "netns", "list").output().split("\\R")) {
            Matcher name = Pattern.compile("^" + PREFIX + "(\\d+)-(\\d|br)\\b").matcher(line);
            if (name.find() && ProcessHandle.of(Long.parseLong(name.group(1))).isEmpty()) {
                run(30, "ip", "netns", "delete", line.split(" ")[0]);
            }
        }
    }

    private static void check(ProcessRun result) {
        assertEquals(result.output(), 0, result.status());
    }

    private static ProcessRun run(int timeoutSeconds, String... command) throws Exception {
        return ProcessRun.of(new ProcessBuilder(command).redirectErrorStream(true), timeoutSeconds);
    }
}
