package io.vmrdma.shell.internal.completers;

import java.util.List;

import io.vmrdma.api.VerbsInventory;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the numbers of this node's queue pairs (one snapshot per completion: cheap for the data agent). */
@Service
public class QueuePairCompleter implements Completer {

    @Reference(optional = true)
    VerbsInventory inventory;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter numbers = new StringsCompleter();
        if (inventory != null) {
            inventory.queuePairs().forEach(q -> numbers.getStrings().add(Integer.toString(q.qpn())));
        }
        return numbers.complete(session, commandLine, candidates);
    }
}
