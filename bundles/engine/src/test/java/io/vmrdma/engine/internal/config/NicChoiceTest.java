package io.vmrdma.engine.internal.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NicChoiceTest {

    @Test
    void theShippedBindingsAreAcceptedInAnyCaseAndBlankMeansLoopback() {
        assertThat(NicChoice.parse("udp")).isEqualTo("udp");
        assertThat(NicChoice.parse(" Packet ")).isEqualTo("packet");
        assertThat(NicChoice.parse("")).isEqualTo("loopback");
        assertThat(NicChoice.parse(null)).isEqualTo("loopback");
    }

    @Test
    void anythingElseIsRefusedNamingTheChoices() {
        assertThatThrownBy(() -> NicChoice.parse("ethernet")).hasMessage(
                "nic: 'ethernet' is not a NIC binding (one of loopback, udp, packet)");
    }
}
