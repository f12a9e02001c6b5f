package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default login is recognised as Karaf reads etc/users.properties, and nothing else is taken for it. */
class ConsolePasswordTest {

    @TempDir
    Path etc;

    private Path users(String... lines) throws IOException {
        Path file = etc.resolve("users.properties");
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.ISO_8859_1);
        return file;
    }

    @Test
    void theShippedFileHasTheDefault() throws IOException {
        assertThat(ConsolePassword.isDefault(users("# as karaf-assembly ships it", "karaf = karaf,_g_:admingroup",
                "_g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh"))).isTrue();
        assertThat(ConsolePassword.isDefault(users("karaf=karaf"))).isTrue();
    }

    @Test
    void aChangedEncryptedOrMissingPasswordIsNotTheDefault() throws IOException {
        assertThat(ConsolePassword.isDefault(users("karaf = s3cret,_g_:admingroup"))).isFalse();
        assertThat(ConsolePassword.isDefault(users("karaf = karaf2,_g_:admingroup"))).isFalse();
        assertThat(ConsolePassword.isDefault(users("karaf = {CRYPT}9f86d081884c7d65{CRYPT},_g_:admingroup")))
                .isFalse();
        assertThat(ConsolePassword.isDefault(users("admin = karaf,_g_:admingroup"))).as("no user karaf").isFalse();
        assertThat(ConsolePassword.isDefault(etc.resolve("absent.properties"))).isFalse();
    }
}
