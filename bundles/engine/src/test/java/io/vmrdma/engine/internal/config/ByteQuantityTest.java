package io.vmrdma.engine.internal.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ByteQuantityTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "9000, 9000",
        "100M, 100000000",
        "100MB, 100000000",
        "100MB/s, 100000000",
        "1G, 1000000000",
        "1.5G, 1500000000",
        "1 g, 1000000000",
        "512Ki, 524288",
        "2Mi, 2097152",
        "1Ti, 1099511627776",
        "64KiB, 65536",
        "0, 0"})
    void operatorsWriteQuantitiesWithUnits(String text, long bytes) {
        assertThat(ByteQuantity.parse(text)).isEqualTo(bytes);
    }

    @ParameterizedTest(name = "''{0}''")
    @ValueSource(strings = {"", "M", "-1", "1X", "1..5G", "1e9", "ten", "99999999999T"})
    void anythingElseIsRefusedWithTheFormsThatWork(String text) {
        assertThatIllegalArgumentException().isThrownBy(() -> ByteQuantity.parse(text))
                .withMessageContaining("'" + text + "'");
    }
}
