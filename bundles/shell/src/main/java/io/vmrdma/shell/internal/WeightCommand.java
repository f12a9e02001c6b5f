package io.vmrdma.shell.internal;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.shell.internal.completers.DomainNameCompleter;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "weight",
        description = "Shows or sets a VM's weight: its relative byte share under the drr policy",
        detailedDescription = "Under drr, backlogged VMs share the wire in proportion to their weights (a VM of "
                + "weight 3 gets three times the bytes of one of weight 1). The setting is kept by domain name in "
                + "etc/io.vmrdma.sched.vm.cfg, so it survives a reboot of the VM, and applies at once. Example: "
                + "vmrdma:weight web1 3")
@Service
public class WeightCommand extends DomainSettingCommand {

    @Argument(index = 0, name = "domain", required = true, description = "The VM's domain name")
    @Completion(DomainNameCompleter.class)
    String domain;

    @Argument(index = 1, name = "weight", description = "The new weight, 1 to 1000 (default 1)")
    String weight;

    @Override
    String domainName() {
        return domain;
    }

    @Override
    VmSettings update(SchedulingControl scheduling) throws Exception {
        return weight == null ? null : scheduling.updateWeight(domain, weight);
    }
}
