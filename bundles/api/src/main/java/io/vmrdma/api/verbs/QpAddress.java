package io.vmrdma.api.verbs;

/**
 * Where a queue pair lives: node, domain on that node, and queue pair number within the node. The triple names a
 * queue pair cluster-wide.
 */
public record QpAddress(int node, int domid, int qpn) {

    public QpAddress {
        if (node < 0 || node > 0xFFFF) {
            throw new IllegalArgumentException("node id out of range 0..65535: " + node);
        }
        if (domid < 0 || domid > 0xFFFF) {
            throw new IllegalArgumentException("domid out of range 0..65535: " + domid);
        }
        if (qpn < 0 || qpn > 0xFFFFFF) {
            throw new IllegalArgumentException("queue pair number out of range 0..2^24-1: " + qpn);
        }
    }

    @Override
    public String toString() {
        return "node " + node + " dom " + domid + " qp " + qpn;
    }
}
