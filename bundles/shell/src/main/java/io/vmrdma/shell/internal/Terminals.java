package io.vmrdma.shell.internal;

import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.Terminal;

/** What a command may draw on the session's terminal. */
final class Terminals {

    private Terminals() {
    }

    /**
     * Whether the session has a terminal that understands cursor movement and erasing (not a pipe, a script, a
     * batch client or a dumb terminal), so output can be redrawn in place.
     */
    static boolean ansi(Session session) {
        Terminal terminal = session == null ? null : session.getTerminal();
        return terminal != null && terminal.isAnsiSupported() && !"dumb".equals(terminal.getType());
    }
}
