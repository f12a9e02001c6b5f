package io.vmrdma.xen.jna.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every JNA structure (and every offset constant the data path writes at) against the C layout: gcc compiles
 * src/test/c/layout.c against libxen-dev's headers, and its sizeof/offsetof output is the reference.
 */
class StructLayoutTest {

    private static Map<String, Long> c;

    @BeforeAll
    static void measureWithGcc() throws IOException, InterruptedException {
        Path source = Path.of(System.getProperty("vmrdma.xen.jna.layoutSource", "src/test/c/layout.c"));
        Path work = Path.of(System.getProperty("vmrdma.xen.jna.workDirectory", "target"));
        Files.createDirectories(work);
        Path exe = work.resolve("xen-layout");
        String compiled = run("gcc", "-Wall", "-Werror", "-o", exe.toString(), source.toString());
        assertThat(compiled).as("gcc output (libxen-dev provides the headers; ./test.sh installs it)").isEmpty();
        c = new HashMap<>();
        for (String line : run(exe.toString()).split("\n")) {
            String[] kv = line.trim().split(" ");
            c.put(kv[0], Long.parseLong(kv[1]));
        }
    }

    @Test
    void grantCopySegmentMatchesXengnttabH() {
        GrantCopySegment s = new GrantCopySegment();
        GrantCopySegment.Foreign f = new GrantCopySegment.Foreign();
        assertThat((long) s.size()).isEqualTo(c.get("grant_copy_segment.size")).isEqualTo(GrantCopySegment.SIZE);
        assertThat((long) s.offsetOf("source")).isEqualTo(c.get("grant_copy_segment.source"))
                .isEqualTo(c.get("grant_copy_segment.source.virt")).isEqualTo(GrantCopySegment.SOURCE);
        assertThat((long) s.offsetOf("dest")).isEqualTo(c.get("grant_copy_segment.dest"))
                .isEqualTo(GrantCopySegment.DEST);
        for (String side : new String[] {"source", "dest"}) {
            long base = c.get("grant_copy_segment." + side);
            assertThat(base + f.offsetOf("ref")).isEqualTo(c.get("grant_copy_segment." + side + ".foreign.ref"))
                    .isEqualTo(base + GrantCopySegment.FOREIGN_REF);
            assertThat(base + f.offsetOf("offset"))
                    .isEqualTo(c.get("grant_copy_segment." + side + ".foreign.offset"))
                    .isEqualTo(base + GrantCopySegment.FOREIGN_OFFSET);
            assertThat(base + f.offsetOf("domid")).isEqualTo(c.get("grant_copy_segment." + side + ".foreign.domid"))
                    .isEqualTo(base + GrantCopySegment.FOREIGN_DOMID);
        }
        assertThat((long) s.offsetOf("len")).isEqualTo(c.get("grant_copy_segment.len")).isEqualTo(GrantCopySegment.LEN);
        assertThat((long) s.offsetOf("flags")).isEqualTo(c.get("grant_copy_segment.flags"))
                .isEqualTo(GrantCopySegment.FLAGS);
        assertThat((long) s.offsetOf("status")).isEqualTo(c.get("grant_copy_segment.status"))
                .isEqualTo(GrantCopySegment.STATUS);
        assertThat((long) GrantCopySegment.SOURCE_GREF).isEqualTo(c.get("GNTCOPY_source_gref"));
        assertThat((long) GrantCopySegment.DEST_GREF).isEqualTo(c.get("GNTCOPY_dest_gref"));
    }

    @Test
    void xsPermissionsMatchesXenstoreH() {
        XsPermissions p = new XsPermissions();
        assertThat((long) p.size()).isEqualTo(c.get("xs_permissions.size"));
        assertThat((long) p.offsetOf("id")).isEqualTo(c.get("xs_permissions.id"));
        assertThat((long) p.offsetOf("perms")).isEqualTo(c.get("xs_permissions.perms"));
        assertThat((long) XsPermissions.PERM_READ).isEqualTo(c.get("XS_PERM_READ"));
        assertThat((long) XsPermissions.PERM_WRITE).isEqualTo(c.get("XS_PERM_WRITE"));
    }

    @Test
    void pollFdMatchesPollH() {
        PollFd p = new PollFd();
        assertThat((long) p.size()).isEqualTo(c.get("pollfd.size")).isEqualTo(PollFd.SIZE);
        assertThat((long) p.offsetOf("fd")).isEqualTo(c.get("pollfd.fd")).isEqualTo(PollFd.FD);
        assertThat((long) p.offsetOf("events")).isEqualTo(c.get("pollfd.events")).isEqualTo(PollFd.EVENTS);
        assertThat((long) p.offsetOf("revents")).isEqualTo(c.get("pollfd.revents")).isEqualTo(PollFd.REVENTS);
        assertThat((long) LibC.POLLIN).isEqualTo(c.get("POLLIN"));
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(command[0] + " finished").isTrue();
        assertThat(p.exitValue()).as(command[0] + ": " + out).isZero();
        return out;
    }
}
