package io.vmrdma.engine.internal.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class PartitionConfigTest {

    @Test
    void readsPartitionKeysInHexOrDecimalWithTheirMembers() {
        Map<String, Object> properties = Map.of(
                "nodeId", "3",
                "partition.0x0001", "web1, web2",
                "partition.2", " hpc-a ,hpc-b,,",
                "service.pid", "io.vmrdma.engine");
        assertThat(PartitionConfig.parse(properties))
                .containsExactly(Map.entry(1, List.of("web1", "web2")), Map.entry(2, List.of("hpc-a", "hpc-b")));
    }

    @Test
    void noPartitionKeysMeansNoPartitionsConfigured() {
        assertThat(PartitionConfig.parse(Map.of("nodeId", 1))).isEmpty();
    }

    @Test
    void badKeysAndNamesAreRefusedWithTheirNames() {
        assertThatThrownBy(() -> PartitionConfig.parse(Map.of("partition.0x8000", "a")))
                .hasMessageContaining("0x8000");
        assertThatThrownBy(() -> PartitionConfig.parse(Map.of("partition.zero", "a")))
                .hasMessageContaining("zero");
        assertThatThrownBy(() -> PartitionConfig.parse(Map.of("partition.0x0001", "good, bad name")))
                .hasMessageContaining("'bad name'");
        assertThatThrownBy(() -> PartitionConfig.parse(Map.of("partition.0x0001", "a", "partition.1", "b")))
                .hasMessageContaining("listed twice");
    }
}
