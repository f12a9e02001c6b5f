package io.vmrdma.shell.internal;

import io.vmrdma.api.Node;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.osgi.framework.BundleContext;

@Command(scope = "vmrdma", name = "status",
        description = "Shows this node: id, NIC binding, Xen backend, scheduler policy, and the vmrdma bundles")
@Service
public class StatusCommand implements Action {

    @Reference(optional = true)
    Node node;

    @Reference
    BundleContext bundleContext;

    @Override
    public Object execute() {
        StatusReport.print(node, bundleContext.getBundles(), System.out);
        return null;
    }
}
