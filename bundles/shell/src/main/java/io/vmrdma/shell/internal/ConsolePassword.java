package io.vmrdma.shell.internal;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Whether the console still has the login the distribution ships, karaf/karaf, and how to change it. Karaf's
 * properties realm reads {@code etc/users.properties} at every login, so a password changed there counts at once,
 * and so does this check.
 */
final class ConsolePassword {

    static final String HOW_TO_CHANGE = "Change it in etc/users.properties: karaf = <new password>,_g_:admingroup "
            + "(read at every login, no restart)";
    static final String DEFAULT_WARNING = "the console's password is still karaf/karaf: whoever reaches the console "
            + "or JMX (on 127.0.0.1 unless etc/org.apache.karaf.shell.cfg or etc/org.apache.karaf.management.cfg "
            + "say otherwise) is this node's administrator. " + HOW_TO_CHANGE;
    /** What {@code vmrdma:status} says on its "Console password" line. */
    static final String STATUS_DEFAULT = "STILL karaf/karaf, the default. " + HOW_TO_CHANGE;
    static final String CHANGED = "changed from the default";

    private ConsolePassword() {
    }

    /** {@code users.properties} of the Karaf this runs in ({@code karaf.etc}). */
    static Path usersFile() {
        return Path.of(System.getProperty("karaf.etc", "etc"), "users.properties");
    }

    /**
     * Whether the user {@code karaf} in {@code users} still has the password {@code karaf}. A file that cannot be read
     * tells nothing (false), nor does a password Karaf keeps encrypted ({@code {CRYPT}...}): it is not the plain text.
     */
    static boolean isDefault(Path users) {
        Properties entries = new Properties();
        try (Reader in = Files.newBufferedReader(users, StandardCharsets.ISO_8859_1)) {
            entries.load(in);
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
        String entry = entries.getProperty("karaf");
        return entry != null && entry.split(",", 2)[0].trim().equals("karaf");
    }
}
