package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.List;

import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.api.verbs.QpAddress;
import org.apache.karaf.shell.support.table.ShellTable;

/** Renders {@code vmrdma:qps}: one row per queue pair, with its connection, queue use and traffic. */
final class QpsReport {

    private QpsReport() {
    }

    /**
     * @param qps  the queue pairs to show (already filtered), or null when the engine is not running
     * @param self this node's id, so a local peer reads {@code local} rather than a number to compare
     */
    static void print(List<QueuePairInfo> qps, int self, PrintStream out) {
        if (qps == null) {
            out.println("engine not running: no queue pairs");
            return;
        }
        ShellTable table = new ShellTable();
        table.column("Domid").alignRight();
        table.column("Device").alignRight();
        table.column("QPN").alignRight();
        table.column("State");
        table.column("Remote node");
        table.column("Remote QPN").alignRight();
        table.column("PKey");
        table.column("SQ used/depth").alignRight();
        table.column("RQ used/depth").alignRight();
        table.column("Ops").alignRight();
        table.column("Bytes").alignRight();
        table.column("Recv ops").alignRight();
        table.column("Recv bytes").alignRight();
        for (QueuePairInfo qp : qps) {
            QpAddress remote = qp.remote();
            table.addRow().addContent(qp.domid(), qp.devid(), qp.qpn(), qp.state(),
                    remote == null ? "-" : remote.node() == self ? "local" : Integer.toString(remote.node()),
                    remote == null ? "-" : Integer.toString(remote.qpn()),
                    qp.pkey() < 0 ? "-" : String.format("0x%04x", qp.pkey()),
                    qp.sendQueued() + "/" + qp.sendDepth(), qp.recvQueued() + "/" + qp.recvDepth(),
                    qp.requesterOps(), Units.bytes(qp.requesterBytes()), qp.recvOps(), Units.bytes(qp.recvBytes()));
        }
        table.print(out);
        if (qps.isEmpty()) {
            out.println("(no queue pairs)");
        }
    }
}
