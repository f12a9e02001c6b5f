package io.vmrdma.engine.internal.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

class SchedulingSettingsTest {

    @Test
    void schedulingSettingsRefuseWhatCannotBeAPolicyOrASwitch() {
        assertThat(SchedulingSettings.parse(Map.of())).isEqualTo(SchedulingSettings.DEFAULTS);
        assertThat(SchedulingSettings.parse(Map.of("policy", " drr ", "shaper", "TRUE")))
                .isEqualTo(new SchedulingSettings("drr", true));
        assertThat(SchedulingSettings.parse(Map.of("policy", "not-installed-yet", "shaper", false)).policy())
                .isEqualTo("not-installed-yet");
        assertThatThrownBy(() -> SchedulingSettings.parse(Map.of("shaper", "maybe")))
                .hasMessage("shaper: 'maybe' is not true or false");
        assertThatThrownBy(() -> SchedulingSettings.parse(Map.of("policy", "drr; rm")))
                .hasMessageContaining("policy: 'drr; rm' is not a policy name");
        assertThatThrownBy(() -> SchedulingSettings.parse(Map.of("policy", ""))).hasMessageContaining("policy");
    }
}
