package io.vmrdma.xen.sim.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * dom0's grant map + unmap of guest pages: contiguous frames (a slice of the whole-file mapping plus the grant
 * checks) and scattered frames (one mmap per page run). Baseline: a plain slice of the same memory.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class GrantMapBenchmark {

    @Param({"1", "16"})
    int pages;

    Path dir;
    SimHypervisor hv;
    SimGuest guest;
    GrantSharer sharer;
    GrantMapper mapper;
    int[] contiguous;
    int[] scattered;
    SharedPages shared;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "jmh-grant");
        hv = SimHypervisor.start(dir);
        guest = SimGuest.attach(hv.domainDirectory(hv.create("bench", 64 << 20)));
        sharer = guest.openGrantSharer();
        mapper = hv.dom0().openGrantMapper();
        shared = sharer.sharePages(0, 2 * pages, true);
        contiguous = new int[pages];
        scattered = new int[pages];
        for (int i = 0; i < pages; i++) {
            contiguous[i] = shared.ref(i);
            scattered[i] = shared.ref(2 * pages - 1 - 2 * i);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        mapper.close();
        sharer.close();
        guest.close();
        hv.close();
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public long baselineSlice() {
        return shared.buffer().slice(0, pages * 4096).capacity();
    }

    @Benchmark
    public int mapUnmapContiguous() throws Exception {
        try (GrantMapping m = mapper.mapDomainGrantRefs(guest.selfDomid(), contiguous, true)) {
            return m.buffer().get(0);
        }
    }

    @Benchmark
    public int mapUnmapScattered() throws Exception {
        try (GrantMapping m = mapper.mapDomainGrantRefs(guest.selfDomid(), scattered, true)) {
            return m.buffer().get(0);
        }
    }
}
