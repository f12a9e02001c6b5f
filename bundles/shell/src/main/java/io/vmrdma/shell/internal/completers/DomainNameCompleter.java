package io.vmrdma.shell.internal.completers;

import java.util.List;

import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.sched.SchedulingControl;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes domain names: the domains this node serves now, and those with scheduling settings of their own. */
@Service
public class DomainNameCompleter implements Completer {

    @Reference(optional = true)
    DomainRegistry domains;

    @Reference(optional = true)
    SchedulingControl control;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter names = new StringsCompleter();
        if (domains != null) {
            domains.domains().stream().map(Domain::name).forEach(names.getStrings()::add);
        }
        if (control != null) {
            names.getStrings().addAll(control.configuredDomains());
        }
        return names.complete(session, commandLine, candidates);
    }
}
