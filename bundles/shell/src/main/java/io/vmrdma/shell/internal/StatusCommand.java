package io.vmrdma.shell.internal;

import io.vmrdma.api.Node;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.osgi.framework.BundleContext;

@Command(scope = "vmrdma", name = "status",
        description = "Shows this node: id, NIC binding, Xen backend, scheduler policy, and the vmrdma bundles",
        detailedDescription = "The first place to look. 'NIC binding none' means no frame leaves this node (the "
                + "binding named by nic in etc/io.vmrdma.engine.cfg is not installed); 'Xen backend none' means no "
                + "guest can connect (install vmrdma-xen-sim or vmrdma-xen-native); a fallback policy means the "
                + "configured one is not installed. Every vmrdma bundle should be Active.")
@Service
public class StatusCommand implements Action {

    @Reference(optional = true)
    Node node;

    @Reference
    BundleContext bundleContext;

    @Override
    public Object execute() {
        StatusReport.print(node, ConsolePassword.isDefault(ConsolePassword.usersFile()), bundleContext.getBundles(),
                System.out);
        return null;
    }
}
