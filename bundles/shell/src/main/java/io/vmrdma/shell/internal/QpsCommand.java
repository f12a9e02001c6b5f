package io.vmrdma.shell.internal;

import java.util.List;
import java.util.Optional;

import io.vmrdma.api.Node;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.shell.internal.completers.QueuePairCompleter;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
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

    @Option(name = "-q", aliases = "--qpn", description = "Only the queue pair with this number")
    @Completion(QueuePairCompleter.class)
    String qpn;

    @Reference(optional = true)
    Node node;

    @Override
    public Object execute() {
        if (!engineRunning() || node == null) {
            QpsReport.print(null, 0, System.out);
            return null;
        }
        Optional<Integer> only = only();
        Integer number = qpn == null ? null : queuePairNumber(qpn);
        List<QueuePairInfo> qps = inventory.queuePairs().stream()
                .filter(q -> shown(only, q.domid()) && (number == null || q.qpn() == number)).toList();
        if (number != null && qps.isEmpty()) {
            throw new IllegalArgumentException("no queue pair " + number + (domain == null ? "" : " in domain "
                    + domain) + " (vmrdma:qps lists them)");
        }
        QpsReport.print(qps, node.nodeId(), System.out);
        return null;
    }

    private static int queuePairNumber(String text) {
        try {
            int number = Integer.parseInt(text.trim());
            if (number >= 0 && number <= 0xFFFFFF) {
                return number;
            }
        } catch (NumberFormatException e) {
            // refused below, with what is accepted
        }
        throw new IllegalArgumentException("a queue pair number is 0 to 16777215, not " + text);
    }
}
