package io.vmrdma.shell.internal.completers;

import java.util.List;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.TransmitShaper;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the names of the installed ordering policies, and {@code shaper} when it is installed. */
@Service
public class PolicyNameCompleter implements Completer {

    @Reference(optional = true)
    SchedulingControl control;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter names = new StringsCompleter();
        if (control != null) {
            names.getStrings().addAll(control.orderingPolicies().keySet());
            control.shaper().ifPresent(installed -> names.getStrings().add(TransmitShaper.NAME));
        }
        return names.complete(session, commandLine, candidates);
    }
}
