package io.vmrdma.shell.internal;

import java.util.Optional;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "mrs",
        description = "Lists memory regions: domain, lkey, rkey, address, length, access flags and in-flight use",
        detailedDescription = "One row per registered memory region of the domains this node serves, then the "
                + "count and bytes registered (the per-domain cap is maxRegisteredBytes in "
                + "etc/io.vmrdma.engine.cfg). 'In flight' counts work requests queued on the domain's queue pairs "
                + "whose scatter/gather entries name the region's lkey: what deregistering it now would fail. "
                + "Access is LOCAL_WRITE, REMOTE_WRITE, REMOTE_READ (local read is always allowed).")
@Service
public class MrsCommand extends InventoryCommand {

    @Override
    public Object execute() {
        if (!engineRunning()) {
            MrsReport.print(null, System.out);
            return null;
        }
        Optional<Integer> only = only();
        MrsReport.print(inventory.memoryRegions().stream().filter(r -> shown(only, r.domid())).toList(), System.out);
        return null;
    }
}
