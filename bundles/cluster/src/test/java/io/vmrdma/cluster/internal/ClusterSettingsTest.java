package io.vmrdma.cluster.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.annotation.Annotation;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

class ClusterSettingsTest {

    @Test
    void membersFromOneCommaSeparatedValueAndTheMajorityOfThem() {
        ClusterSettings settings = ClusterSettings.parse(config(new String[] {"169.254.21.1, 169.254.21.2:5702,"
                + " 169.254.21.3"}, "169.254.21.2", ""));
        assertThat(settings.members()).containsExactly("169.254.21.1", "169.254.21.2:5702", "169.254.21.3");
        assertThat(settings.majority()).isEqualTo(2);
        assertThat(settings.stateDirectory()).isEqualTo(Path.of(System.getProperty("karaf.base", "."), "state",
                "cluster"));
        assertThat(ClusterSettings.parse(config(new String[] {"fd00::1", "fd00::2", "fd00::3", "fd00::4"}, "fd00::4",
                "/var/lib/x")).majority()).isEqualTo(3);
    }

    @Test
    void addressesBeyondTheSiteNamesAndStrangersAreRefused() {
        for (List<String> refused : List.of(
                List.of("8.8.8.8", "8.8.8.8"),
                List.of("169.254.1.1, 192.0.2.1", "169.254.1.1"),
                List.of("localhost", "localhost"),
                List.of("169.254.1.1", "169.254.1.2"),
                List.of("169.254.1.1, 169.254.1.1", "169.254.1.1"),
                List.of("", "169.254.1.1"),
                List.of("2001:db8::1", "2001:db8::1"))) {
            assertThatThrownBy(() -> ClusterSettings.parse(config(new String[] {refused.get(0)}, refused.get(1), "")))
                    .as(refused.toString()).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static ClusterConfig config(String[] members, String bind, String state) {
        return new ClusterConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return ClusterConfig.class;
            }

            @Override
            public String name() {
                return "vmrdma";
            }

            @Override
            public String[] members() {
                return members;
            }

            @Override
            public String bindAddress() {
                return bind;
            }

            @Override
            public int port() {
                return 5701;
            }

            @Override
            public int memberTimeoutSeconds() {
                return 6;
            }

            @Override
            public String stateDirectory() {
                return state;
            }
        };
    }
}
