package io.vmrdma.shell.internal;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.TransmitShaper;
import io.vmrdma.shell.internal.completers.PolicyNameCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.StringsCompleter;

@Command(scope = "vmrdma", name = "policy",
        description = "Lists the scheduler policies (* marks the ordering policy in charge, + the shaper when on),"
                + " activates an ordering policy, or switches the shaper on or off",
        detailedDescription = "Without an argument, lists the installed ordering policies and the shaper. With a "
                + "policy name, makes it the one in charge (stored as policy in etc/io.vmrdma.sched.cfg; the switch "
                + "happens between two turns, no frame is lost). 'shaper on|off' switches per-VM rate caps. Examples: "
                + "vmrdma:policy drr, vmrdma:policy shaper on")
@Service
public class PolicyCommand implements Action {

    @Argument(index = 0, name = "name",
            description = "Ordering policy to activate (rr, drr, priority, or another installed one), or shaper")
    @Completion(PolicyNameCompleter.class)
    String name;

    @Argument(index = 1, name = "on|off", description = "For the shaper: switch it on or off")
    @Completion(value = StringsCompleter.class, values = {"on", "off"})
    String onOff;

    @Reference(optional = true)
    SchedulingControl control;

    @Override
    public Object execute() throws Exception {
        if (control == null) {
            System.out.println(SchedulingReport.NO_ENGINE);
        } else if (name == null) {
            SchedulingReport.printPolicies(control, System.out);
        } else if (name.equals(TransmitShaper.NAME)) {
            switchShaper();
        } else {
            if (onOff != null) {
                throw new IllegalArgumentException("on|off applies to the shaper only; to activate '" + name
                        + "' type: vmrdma:policy " + name);
            }
            control.activate(name);
            System.out.println("Activated ordering policy '" + name + "' (io.vmrdma.sched policy = " + name + ").");
        }
        return null;
    }

    private void switchShaper() throws Exception {
        if (!"on".equals(onOff) && !"off".equals(onOff)) {
            throw new IllegalArgumentException("say whether to switch the shaper on or off: vmrdma:policy shaper on|off"
                    + " (it is " + (control.shaperEnabled() ? "on" : "off") + ")");
        }
        control.enableShaper(onOff.equals("on"));
        System.out.println("Shaper switched " + onOff + (control.shaper().isPresent() ? ""
                : "; its bundle is not installed, so it shapes nothing until it is (feature:install"
                        + " vmrdma-sched-shaper)")
                + ".");
    }
}
