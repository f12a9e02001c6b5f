package io.vmrdma.shell.internal;

import java.nio.file.Path;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.CommandSessionListener;
import org.apache.karaf.shell.api.console.Session;
import org.osgi.service.component.annotations.Component;

/**
 * Tells every console login while the console's password is still karaf/karaf. Karaf hands each command line of
 * every session to its listeners; the first one of a session with a terminal (a local console, an SSH login,
 * {@code bin/client}) is the login scripts Karaf runs, or, for a session opened before this bundle started, the
 * first command typed. Sessions without a terminal (a command passed to {@code bin/client}, tools and tests that
 * drive the console) are no logins and are not told.
 */
@Component(service = CommandSessionListener.class)
public class LoginWarning implements CommandSessionListener {

    /** The session variable that marks a session as looked at (a leading dot: gogo's internal variables). */
    static final String LOOKED_AT = ".vmrdma.loginWarning";

    private final Path users;

    public LoginWarning() {
        this(ConsolePassword.usersFile());
    }

    LoginWarning(Path users) {
        this.users = users;
    }

    @Override
    public void beforeExecute(CommandSession session, CharSequence commandLine) {
        if (session.get(LOOKED_AT) != null) {
            return;
        }
        session.put(LOOKED_AT, Boolean.TRUE);
        if (session.get(".session") instanceof Session console && console.getTerminal() != null
                && session.getConsole() != null && ConsolePassword.isDefault(users)) {
            session.getConsole().println("WARNING: " + ConsolePassword.DEFAULT_WARNING);
        }
    }

    @Override
    public void afterExecute(CommandSession session, CharSequence commandLine, Exception exception) {
        // only the start of a session matters
    }

    @Override
    public void afterExecute(CommandSession session, CharSequence commandLine, Object result) {
        // only the start of a session matters
    }
}
