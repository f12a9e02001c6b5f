package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.List;

import io.vmrdma.api.MemoryRegionInfo;
import io.vmrdma.api.verbs.AccessFlags;
import org.apache.karaf.shell.support.table.ShellTable;

/** Renders {@code vmrdma:mrs}: one row per memory region, with its keys, range, access and in-flight use. */
final class MrsReport {

    private MrsReport() {
    }

    /** @param regions the regions to show (already filtered), or null when the engine is not running */
    static void print(List<MemoryRegionInfo> regions, PrintStream out) {
        if (regions == null) {
            out.println("engine not running: no memory regions");
            return;
        }
        ShellTable table = new ShellTable();
        table.column("Domid").alignRight();
        table.column("LKey").alignRight();
        table.column("RKey").alignRight();
        table.column("Address").alignRight();
        table.column("Length").alignRight();
        table.column("Access");
        table.column("In flight").alignRight();
        long total = 0;
        for (MemoryRegionInfo r : regions) {
            total += r.length();
            table.addRow().addContent(r.domid(), Units.hex(r.lkey()), Units.hex(r.rkey()),
                    "0x" + Long.toHexString(r.address()), Units.bytes(r.length()), AccessFlags.toString(r.access()),
                    r.inFlight());
        }
        table.print(out);
        out.println(regions.size() + (regions.size() == 1 ? " region, " : " regions, ") + Units.bytes(total)
                + " registered");
    }
}
