package io.vmrdma.shell.internal.completers;

import java.util.List;

import io.vmrdma.api.xen.DomainControl;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the simulator toolstack's guest domains by name (dom0 is not a guest one may destroy). */
@Service
public class GuestDomainCompleter implements Completer {

    @Reference(optional = true)
    DomainControl toolstack;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter names = new StringsCompleter();
        if (toolstack != null) {
            toolstack.list().stream().filter(d -> d.domid() != 0).forEach(d -> names.getStrings().add(d.name()));
        }
        return names.complete(session, commandLine, candidates);
    }
}
