package io.vmrdma.shell.internal;

import io.vmrdma.api.cluster.ClusterView;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "cluster",
        description = "Shows every node of the cluster: id, address, state, policy in charge, VMs and traffic",
        detailedDescription = "Needs the vmrdma-cluster feature and etc/io.vmrdma.cluster.cfg. A node is 'this node', "
                + "'up' (a live member) or 'gone' (it holds a node id but is no member now). Partitions, per-VM "
                + "settings, the policy in charge and quotas changed on any node apply on every node; without a "
                + "majority of the configured members a side of a split keeps the settings last agreed and refuses "
                + "changes. See docs/cluster.md.")
@Service
public class ClusterCommand implements Action {

    @Reference(optional = true)
    ClusterView cluster;

    @Override
    public Object execute() {
        ClusterReport.print(cluster, System.out);
        return null;
    }
}
