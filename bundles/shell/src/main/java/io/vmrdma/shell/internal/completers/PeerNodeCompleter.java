package io.vmrdma.shell.internal.completers;

import java.util.List;

import io.vmrdma.api.PeerRegistry;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the node ids of the peer table, static and discovered. */
@Service
public class PeerNodeCompleter implements Completer {

    @Reference(optional = true)
    PeerRegistry peers;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter ids = new StringsCompleter();
        if (peers != null) {
            peers.peers().forEach(p -> ids.getStrings().add(Integer.toString(p.node())));
        }
        return ids.complete(session, commandLine, candidates);
    }
}
