package io.vmrdma.shell.internal;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.shell.internal.completers.DomainNameCompleter;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "rate",
        description = "Shows or sets a VM's rate cap and burst, enforced while the shaper is on",
        detailedDescription = "A token bucket per VM: the VM may send burst bytes at once, then rate bytes per "
                + "second. It is enforced only while the shaper is on (vmrdma:policy shaper on, feature "
                + "vmrdma-sched-shaper installed). Kept by domain name in etc/io.vmrdma.sched.vm.cfg. Examples: "
                + "vmrdma:rate web1 100M, vmrdma:rate --burst 1Mi web1 1.5G, vmrdma:rate web1 none")
@Service
public class RateCommand extends DomainSettingCommand {

    @Argument(index = 0, name = "domain", required = true, description = "The VM's domain name")
    @Completion(DomainNameCompleter.class)
    String domain;

    @Argument(index = 1, name = "rate",
            description = "Bytes per second: 100M, 1.5G, 512Ki (K, M, G, T are powers of 1000; Ki, Mi, Gi, Ti of"
                    + " 1024), or 0 / none to lift the cap")
    String rate;

    @Option(name = "--burst", aliases = "-b",
            description = "Bytes the VM may send at once above its rate, same units (default: 10 ms at the rate,"
                    + " at least 64Ki)")
    String burst;

    @Override
    String domainName() {
        return domain;
    }

    @Override
    VmSettings update(SchedulingControl scheduling) throws Exception {
        if (rate == null) {
            if (burst != null) {
                throw new IllegalArgumentException("--burst comes with a rate: vmrdma:rate --burst " + burst + " "
                        + domain + " RATE");
            }
            return null;
        }
        return scheduling.updateRate(domain, rate, burst);
    }
}
