package io.vmrdma.shell.internal;

import java.util.Optional;

import io.vmrdma.api.Node;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "qps",
        description = "Lists queue pairs: domain, QPN, state, remote node and QPN, partition key, work queue use, "
                + "and what each moved",
        detailedDescription = "One row per queue pair of the domains this node serves. 'SQ used/depth' is send work "
                + "requests posted and not yet completed over the send queue's size, 'RQ' the same for receives: "
                + "a full RQ is plenty of receives, an empty one on a SEND target means RNR NAKs. 'Ops' and 'Bytes' "
                + "count SEND, RDMA WRITE and RDMA READ the queue pair carried out as requester; 'Recv' what "
                + "incoming messages placed in its receive buffers. Remote node 'local' is this node.")
@Service
public class QpsCommand extends InventoryCommand {

    @Reference(optional = true)
    Node node;

    @Override
    public Object execute() {
        if (!engineRunning() || node == null) {
            QpsReport.print(null, 0, System.out);
            return null;
        }
        Optional<Integer> only = only();
        QpsReport.print(inventory.queuePairs().stream().filter(q -> shown(only, q.domid())).toList(),
                node.nodeId(), System.out);
        return null;
    }
}
