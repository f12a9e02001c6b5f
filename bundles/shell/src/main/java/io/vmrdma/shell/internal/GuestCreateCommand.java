package io.vmrdma.shell.internal;

import java.util.List;

import io.vmrdma.api.xen.DomainControl;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "guest-create",
        description = "Creates a simulated guest domain and, given a command, boots it as a guest process",
        detailedDescription = "Simulator only (feature vmrdma-xen-sim): on a real Xen host guests are created with "
                + "xl create. Without a command the domain is created but not started. Example: vmrdma:guest-create "
                + "-m 128 web1")
@Service
public class GuestCreateCommand implements Action {

    @Reference(optional = true)
    DomainControl toolstack;

    @Argument(index = 0, name = "name", required = true, description = "The domain's name (stable across reboots)")
    String name;

    @Argument(index = 1, name = "command", multiValued = true,
            description = "The guest program and its arguments, e.g. java -cp JARS io.vmrdma.xen.sim.guest.GuestMain"
                    + " io.vmrdma.guest.internal.GuestTool demo server 7 (see docs/guest.md); none: created only")
    List<String> command;

    @Option(name = "--memory", aliases = "-m", description = "Memory in MiB (default 64)")
    int memoryMiB = 64;

    @Override
    public Object execute() throws Exception {
        if (toolstack == null) {
            throw new IllegalStateException(GuestDestroyCommand.NO_TOOLSTACK);
        }
        int domid = toolstack.create(name, (long) memoryMiB << 20);
        if (command == null || command.isEmpty()) {
            System.out.println("domain " + domid + " '" + name + "' created (not started)");
        } else {
            long pid = toolstack.start(domid, command);
            System.out.println("domain " + domid + " '" + name + "' running as process " + pid);
        }
        return null;
    }
}
