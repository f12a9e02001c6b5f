package io.vmrdma.shell.internal;

import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.Node;
import io.vmrdma.api.xen.DomainControl;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "domains",
        description = "Lists the guest domains: the toolstack's (simulator) and the engine's view of each",
        detailedDescription = "One row per domain: domid, name and memory from the toolstack (the simulator; on a "
                + "real Xen host use xl list), whether the guest runs, the state of its vmrdma device as the engine "
                + "sees it, the node its vmrdma state is on (\"1 -> 3\" while it migrates), and the operations and bytes it moved as requester. vmrdma:qps, vmrdma:mrs and "
                + "vmrdma:stats take a domid from here.")
@Service
public class DomainsCommand implements Action {

    @Reference(optional = true)
    DomainRegistry registry;

    @Reference(optional = true)
    DomainControl toolstack;

    @Reference(optional = true)
    Node node;

    @Override
    public Object execute() {
        DomainsReport.print(toolstack == null ? null : toolstack.list(), registry == null ? null : registry.domains(),
                node == null ? -1 : node.nodeId(), System.out);
        return null;
    }
}
