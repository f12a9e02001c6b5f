package io.vmrdma.shell.internal;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.VmSettings;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

/**
 * What {@code vmrdma:weight}, {@code vmrdma:priority} and {@code vmrdma:rate} share: with a value they change the
 * domain's setting, without one they show it; either way they print the domain's settings in force.
 */
abstract class DomainSettingCommand implements Action {

    @Reference(optional = true)
    SchedulingControl control;

    /** The domain named on the command line. */
    abstract String domainName();

    /** Applies the value given on the command line, or answers empty-handed when none was given. */
    abstract VmSettings update(SchedulingControl scheduling) throws Exception;

    @Override
    public Object execute() throws Exception {
        if (control == null) {
            System.out.println(SchedulingReport.NO_ENGINE);
            return null;
        }
        VmSettings settings = update(control);
        SchedulingReport.printSettings(domainName(), settings != null ? settings : control.settings(domainName()),
                System.out);
        return null;
    }
}
