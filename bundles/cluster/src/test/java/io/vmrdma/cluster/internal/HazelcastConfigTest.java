package io.vmrdma.cluster.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.hazelcast.config.Config;
import org.junit.jupiter.api.Test;

class HazelcastConfigTest {

    @Test
    void everyProtectedMapKeepsACopyOnTheMajorityWhicheverMinorityIsCut() {
        assertThat(backupsOfTheSettings(1)).isZero();
        assertThat(backupsOfTheSettings(3)).isEqualTo(1);
        assertThat(backupsOfTheSettings(4)).isEqualTo(1);
        assertThat(backupsOfTheSettings(5)).isEqualTo(2);
        assertThat(backupsOfTheSettings(9)).isEqualTo(4);
        // Hazelcast keeps at most six backups: beyond 13 members a cut of seven could take an entry's last copy.
        assertThat(backupsOfTheSettings(13)).isEqualTo(6);
        assertThat(backupsOfTheSettings(ClusterSettings.MAX_MEMBERS)).isEqualTo(6);
    }

    private static int backupsOfTheSettings(int members) {
        List<String> addresses = new ArrayList<>();
        for (int i = 1; i <= members; i++) {
            addresses.add("169.254.30." + i);
        }
        ClusterSettings settings = new ClusterSettings("vmrdma", addresses, "169.254.30.1", 5701, 3, Path.of("state"),
                members / 2 + 1);
        Config config = HazelcastConfig.of(settings, HazelcastConfigTest.class.getClassLoader());
        int backups = config.getMapConfig(SettingsMirror.MAP_PREFIX + "io.vmrdma.engine").getBackupCount();
        for (String map : List.of(NodeIdClaim.NODE_IDS, AgreedVersions.CLUSTER_VERSIONS, FeatureRollout.WANTED)) {
            assertThat(config.getMapConfig(map).getBackupCount()).as(map).isEqualTo(backups);
        }
        return backups;
    }
}
