package io.vmrdma.cluster.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Node id claims on two real Hazelcast members in this JVM, on loopback. */
class NodeIdClaimTest {

    private static HazelcastInstance first;
    private static HazelcastInstance second;

    @TempDir
    static Path state;

    @BeforeAll
    static void twoMembers() {
        int base = 20000 + ThreadLocalRandom.current().nextInt(20000);
        List<String> list = List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1));
        first = Hazelcast.newHazelcastInstance(HazelcastConfig.of(new ClusterSettings("claim-test-" + base, list,
                "127.0.0.1", base, 3, state, 2), NodeIdClaimTest.class.getClassLoader()));
        second = Hazelcast.newHazelcastInstance(HazelcastConfig.of(new ClusterSettings("claim-test-" + base, list,
                "127.0.0.1", base + 1, 3, state, 2), NodeIdClaimTest.class.getClassLoader()));
    }

    @AfterAll
    static void shutdown() {
        first.shutdown();
        second.shutdown();
    }

    @Test
    void everyHostAskingForOneIdGetsItsOwnAndKeepsItAcrossRestarts() throws Exception {
        NodeIdClaim a = new NodeIdClaim(state.resolve("a"));
        NodeIdClaim b = new NodeIdClaim(state.resolve("b"));
        NodeIdClaim c = new NodeIdClaim(state.resolve("c"));
        assertThat(a.claim(first, 1)).isEqualTo(1);
        assertThat(b.claim(second, 1)).isEqualTo(2);
        assertThat(c.claim(first, 7)).isEqualTo(7);
        assertThat(Files.readString(state.resolve("b/node-id")).trim()).isEqualTo("2");

        // b restarts (a new claim object on its state directory) and asks for 1 again: it keeps 2.
        NodeIdClaim bAgain = new NodeIdClaim(state.resolve("b"));
        assertThat(bAgain.memberKey()).isEqualTo(b.memberKey());
        assertThat(bAgain.claim(first, 1)).isEqualTo(2);
        // A host whose state was lost is a new host: it gets a free id, never one that is held.
        assertThat(new NodeIdClaim(state.resolve("d")).claim(second, 2)).isEqualTo(3);
    }
}
