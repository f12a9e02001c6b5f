package io.vmrdma.shell.internal.completers;

import java.util.List;

import io.vmrdma.api.DomainRegistry;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the domids of the domains this node serves now (a domid changes when its VM is recreated). */
@Service
public class DomainIdCompleter implements Completer {

    @Reference(optional = true)
    DomainRegistry domains;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter ids = new StringsCompleter();
        if (domains != null) {
            domains.domains().forEach(d -> ids.getStrings().add(Integer.toString(d.domid())));
        }
        return ids.complete(session, commandLine, candidates);
    }
}
