package io.vmrdma.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "password-check",
        description = "Says whether the console still has the distribution's login, karaf/karaf, and how to change it",
        detailedDescription = "Reads etc/users.properties, as Karaf does at every login. Every console login runs "
                + "it with --quiet (etc/scripts/vmrdma-password.script), so that nobody logs in without being told "
                + "while the default is in place; vmrdma:status shows the same on its 'Console password' line.")
@Service
public class PasswordCheckCommand implements Action {

    @Option(name = "--quiet", aliases = "-q", description = "Print nothing when the password is not the default")
    boolean quiet;

    @Override
    public Object execute() {
        if (ConsolePassword.isDefault(ConsolePassword.usersFile())) {
            System.out.println("WARNING: " + ConsolePassword.DEFAULT_WARNING);
        } else if (!quiet) {
            System.out.println("The console's password is " + ConsolePassword.CHANGED + ".");
        }
        return null;
    }
}
