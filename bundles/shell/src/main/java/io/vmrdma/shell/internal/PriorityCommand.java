package io.vmrdma.shell.internal;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.shell.internal.completers.DomainNameCompleter;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.StringsCompleter;

@Command(scope = "vmrdma", name = "priority",
        description = "Shows or sets a VM's strict-priority level under the priority policy: 0 is the highest",
        detailedDescription = "Under the priority policy a backlogged VM of a higher level (lower number) always "
                + "goes first; VMs of one level share round-robin. Kept by domain name in "
                + "etc/io.vmrdma.sched.vm.cfg. Example: vmrdma:priority db1 0")
@Service
public class PriorityCommand extends DomainSettingCommand {

    @Argument(index = 0, name = "domain", required = true, description = "The VM's domain name")
    @Completion(DomainNameCompleter.class)
    String domain;

    @Argument(index = 1, name = "level", description = "The new level, 0 (highest) to 7 (default 4)")
    @Completion(value = StringsCompleter.class, values = {"0", "1", "2", "3", "4", "5", "6", "7"})
    String level;

    @Override
    String domainName() {
        return domain;
    }

    @Override
    VmSettings update(SchedulingControl scheduling) throws Exception {
        return level == null ? null : scheduling.updatePriority(domain, level);
    }
}
