package io.vmrdma.engine.internal.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterSecretTest {

    @TempDir
    Path etc;

    @Test
    void theFirstStartMakesAnOwnerOnlySecretThatLaterStartsRead() throws Exception {
        Path file = etc.resolve(ClusterSecret.FILE_NAME);
        byte[] made = ClusterSecret.loadOrCreate(file);
        assertThat(made).hasSize(ClusterSecret.MIN_BYTES);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Files.readAllBytes(file)).isEqualTo(made);
        assertThat(ClusterSecret.loadOrCreate(file)).isEqualTo(made);
        assertThat(ClusterSecret.loadOrCreate(etc.resolve("other"))).isNotEqualTo(made);
    }

    @Test
    void aSecretOthersMayReadOrATooShortOneIsRefusedSayingWhatToDo() throws Exception {
        Path open = etc.resolve("open");
        Files.write(open, new byte[32]);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> ClusterSecret.loadOrCreate(open)).hasMessageContaining("open to group or others")
                .hasMessageContaining("chmod 600");

        Path shortOne = etc.resolve("short");
        Files.write(shortOne, new byte[31]);
        Files.setPosixFilePermissions(shortOne, PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(() -> ClusterSecret.loadOrCreate(shortOne)).hasMessageContaining("has 31 bytes")
                .hasMessageContaining("/dev/urandom");

        assertThatThrownBy(() -> ClusterSecret.loadOrCreate(etc.resolve("no such dir").resolve("secret")))
                .hasMessageContaining("cannot create the cluster secret");
    }
}
