package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.impl.console.JLineTerminal;
import org.apache.karaf.shell.impl.console.SessionFactoryImpl;
import org.jline.terminal.impl.DumbTerminal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The login warning in Karaf's own console machinery (the session factory every login goes through, with the
 * listener added as Karaf adds listener services): a session with a terminal is told once, at its first command
 * line, while the password is karaf/karaf; not once it is changed; a session without a terminal never.
 */
class LoginWarningTest {

    private static final String WARNING = "WARNING: the console's password is still karaf/karaf";

    @TempDir
    Path etc;

    private final ThreadIOImpl threadIo = new ThreadIOImpl();
    private SessionFactoryImpl consoles;
    private String karafEtc;

    @BeforeEach
    void karaf() {
        // A console session reads its settings from etc/ as in a distribution: an empty one here.
        karafEtc = System.getProperty("karaf.etc");
        System.setProperty("karaf.etc", etc.toString());
        threadIo.start();
        consoles = new SessionFactoryImpl(threadIo);
        consoles.getCommandProcessor().addListener(new LoginWarning(etc.resolve("users.properties")));
    }

    @AfterEach
    void stop() {
        consoles.stop();
        threadIo.stop();
        if (karafEtc == null) {
            System.clearProperty("karaf.etc");
        } else {
            System.setProperty("karaf.etc", karafEtc);
        }
    }

    private void users(String line) throws IOException {
        Files.writeString(etc.resolve("users.properties"), line + "\n", StandardCharsets.ISO_8859_1);
    }

    /** What a session shows for two command lines, with a terminal (a login) or without. */
    private String twoCommands(boolean terminal) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        ByteArrayInputStream in = new ByteArrayInputStream(new byte[0]);
        Session session = terminal
                ? consoles.create(in, print, print, new JLineTerminal(new DumbTerminal(in, print)), "UTF-8", null)
                : consoles.create(in, print, print);
        session.execute("echo first");
        session.execute("echo second");
        session.close();
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aLoginWithTheDefaultPasswordIsToldOnceWithHowToChangeIt() throws Exception {
        users("karaf = karaf,_g_:admingroup");
        String shown = twoCommands(true);
        assertThat(shown).startsWith(WARNING).contains("etc/users.properties")
                .contains("karaf = <new password>,_g_:admingroup").endsWith("first\nsecond\n");
        assertThat(shown.split(WARNING, -1)).hasSize(2);
    }

    @Test
    void aLoginWithAnotherPasswordIsNotTold() throws Exception {
        users("karaf = 7hz-Qp2!,_g_:admingroup");
        assertThat(twoCommands(true)).isEqualTo("first\nsecond\n");
    }

    @Test
    void aSessionWithoutATerminalIsNoLogin() throws Exception {
        users("karaf = karaf,_g_:admingroup");
        assertThat(twoCommands(false)).isEqualTo("first\nsecond\n");
    }
}
