package io.vmrdma.xen.sim.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimAbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's real {@code libxenstore.so.4} and {@code xenstore-*} tools against the simulator, through
 * {@code XENSTORED_PATH}. ./test.sh installs them (packages xenstore-utils, libxenstore4); without them this test
 * fails rather than skips, so CI cannot pass without having run it.
 */
class RealXenStoreToolsTest {

    private static final String[] TOOLS = {"xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-watch"};

    @TempDir
    Path state;

    SimHypervisor hv;
    Path dom0Socket;
    Path guestSocket;
    int domid;

    @BeforeAll
    static void toolsAreInstalled() {
        for (String tool : TOOLS) {
            assertThat(Path.of("/usr/bin", tool)).as(tool + " (Debian package xenstore-utils; ./test.sh installs it)")
                    .isExecutable();
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(SimSettings.defaults(state));
        domid = hv.create("tools", 1 << 20);
        dom0Socket = hv.domainDirectory(0).resolve(SimAbi.SOCKET_XENSTORE);
        guestSocket = hv.domainDirectory(domid).resolve(SimAbi.SOCKET_XENSTORE);
    }

    @AfterEach
    void tearDown() {
        hv.close();
    }

    @Test
    void writeReadAndListAsDom0() throws Exception {
        assertThat(run(dom0Socket, "xenstore-write", "/vmrdma/a", "hello", "/vmrdma/b/c", "x y").exit).isZero();
        Result read = run(dom0Socket, "xenstore-read", "/vmrdma/a", "/vmrdma/b/c");
        assertThat(read.exit).isZero();
        assertThat(read.lines).containsExactly("hello", "x y");
        XenStore xs = hv.dom0().openXenStore();
        assertThat(new String(xs.read(0, "/vmrdma/b/c"), UTF_8)).isEqualTo("x y");
        Result ls = run(dom0Socket, "xenstore-ls", "-f", "/vmrdma");
        assertThat(ls.exit).isZero();
        assertThat(ls.lines).contains("/vmrdma/a = \"hello\"", "/vmrdma/b/c = \"x y\"");
        Result perms = run(dom0Socket, "xenstore-ls", "-p", "/local/domain/" + domid);
        assertThat(String.join("\n", perms.lines)).contains("name = \"tools\"").contains("n" + domid);
        Result missing = run(dom0Socket, "xenstore-read", "/vmrdma/none");
        assertThat(missing.exit).isNotZero();
        xs.close();
    }

    @Test
    void theGuestSocketActsAsTheGuest() throws Exception {
        Result own = run(guestSocket, "xenstore-read", "name");
        assertThat(own.lines).containsExactly("tools");
        Result denied = run(guestSocket, "xenstore-read", "/local/domain/0/name");
        assertThat(denied.exit).isNotZero();
        assertThat(String.join("\n", denied.lines)).contains("couldn't read path");
        assertThat(hv.counters().get(SimCounters.Counter.XS_ACCESS_DENIED)).as("refused as EACCES").isEqualTo(1);
        assertThat(run(guestSocket, "xenstore-write", "data/k", "v").exit).isZero();
        assertThat(run(dom0Socket, "xenstore-read", "/local/domain/" + domid + "/data/k").lines).containsExactly("v");
    }

    @Test
    void watchFiresOnceAtOnceThenOnChange() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("xenstore-watch", "-n", "2", "/vmrdma/w");
        pb.environment().put("XENSTORED_PATH", dom0Socket.toString());
        pb.redirectErrorStream(true);
        Process watch = pb.start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(watch.getInputStream(), UTF_8))) {
            assertThat(out.readLine()).as("initial fire").isEqualTo("/vmrdma/w");
            XenStore xs = hv.dom0().openXenStore();
            xs.write(0, "/vmrdma/w/child", "1".getBytes(UTF_8));
            assertThat(out.readLine()).isEqualTo("/vmrdma/w/child");
            xs.close();
        }
        assertThat(watch.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(watch.exitValue()).isZero();
    }

    private record Result(int exit, List<String> lines) {
    }

    private static Result run(Path socket, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("XENSTORED_PATH", socket.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(String.join(" ", command) + " finished").isTrue();
        assertThat(Files.exists(socket)).isTrue();
        return new Result(p.exitValue(), lines);
    }
}
