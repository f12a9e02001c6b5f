package io.vmrdma.shell.internal;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "password-check",
        description = "Says whether the console still has the distribution's login, karaf/karaf, and how to change it",
        detailedDescription = "Reads etc/users.properties, as Karaf does at every login. While the default is in "
                + "place every console login (local, SSH, bin/client) starts with the same warning, and vmrdma:status "
                + "shows it on its 'Console password' line.")
@Service
public class PasswordCheckCommand implements Action {

    @Override
    public Object execute() {
        System.out.println(ConsolePassword.isDefault(ConsolePassword.usersFile())
                ? "WARNING: " + ConsolePassword.DEFAULT_WARNING
                : "The console's password is " + ConsolePassword.CHANGED + ".");
        return null;
    }
}
