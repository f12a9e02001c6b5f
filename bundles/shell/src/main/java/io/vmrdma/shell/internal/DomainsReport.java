package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.vmrdma.api.Counter;
import io.vmrdma.api.DeviceInfo;
import io.vmrdma.api.Domain;
import io.vmrdma.api.xen.DomainControl.DomainInfo;
import org.apache.karaf.shell.support.table.ShellTable;

/**
 * Renders {@code vmrdma:domains}: every domain the toolstack knows (when there is one: the simulator) beside what
 * the engine knows of it (a guest whose vmrdma device is connected has an engine domain).
 */
final class DomainsReport {

    private DomainsReport() {
    }

    /** Each open device as {@code number(process)}, or {@code number} when the guest named no process. */
    static String devices(Domain d) {
        if (d == null || d.devices().isEmpty()) {
            return "-";
        }
        StringBuilder text = new StringBuilder();
        for (DeviceInfo device : d.devices()) {
            text.append(text.length() == 0 ? "" : " ").append(device.devid());
            if (device.process() > 0) {
                text.append('(').append(device.process()).append(')');
            }
        }
        return text.toString();
    }

    /**
     * @param toolstack the hypervisor's domains, or null when no {@code DomainControl} is there (real Xen: xl's job)
     * @param engine    the engine's domains, or null when the engine is not running
     * @param node      this node's id, where the engine's domains are (-1 when the engine is not running)
     */
    static void print(List<DomainInfo> toolstack, List<Domain> engine, int node, PrintStream out) {
        Map<Integer, DomainInfo> byDomid = new TreeMap<>();
        if (toolstack != null) {
            toolstack.forEach(d -> byDomid.put(d.domid(), d));
        }
        Map<Integer, Domain> verbs = new TreeMap<>();
        if (engine != null) {
            engine.forEach(d -> verbs.put(d.domid(), d));
        }
        TreeMap<Integer, Boolean> all = new TreeMap<>();
        byDomid.keySet().forEach(d -> all.put(d, true));
        verbs.keySet().forEach(d -> all.put(d, true));
        ShellTable table = new ShellTable();
        table.column("Domid").alignRight();
        table.column("Name");
        table.column("Memory MiB").alignRight();
        table.column("Guest");
        table.column("vmrdma");
        table.column("Node").alignRight();
        table.column("Devices");
        table.column("Ops").alignRight();
        table.column("Bytes").alignRight();
        for (int domid : all.keySet()) {
            DomainInfo info = byDomid.get(domid);
            Domain d = verbs.get(domid);
            String name = info != null ? info.name() : d.name();
            String memory = info == null ? "-" : Long.toString(info.memoryBytes() >> 20);
            String guest = info == null ? "-" : domid == 0 ? "dom0" : info.running() ? "running" : "created";
            String state = d == null ? (engine == null ? "engine not running" : "-") : d.state().toString();
            String ops = d == null ? "-" : Long.toString(d.counter(Counter.SEND_OPS) + d.counter(Counter.RDMA_WRITE_OPS)
                    + d.counter(Counter.RDMA_READ_OPS));
            String bytes = d == null ? "-" : Long.toString(d.counter(Counter.SEND_BYTES)
                    + d.counter(Counter.RDMA_WRITE_BYTES) + d.counter(Counter.RDMA_READ_BYTES));
            String where = d == null ? "-" : d.migratingTo() < 0 ? Integer.toString(node)
                    : node + " -> " + d.migratingTo();
            table.addRow().addContent(domid, name, memory, guest, state, where, devices(d), ops, bytes);
        }
        table.print(out);
        if (toolstack == null) {
            out.println("(no toolstack service: only domains with a connected vmrdma device are listed)");
        }
    }
}
