package io.vmrdma.shell.internal;

import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.DomainControl.DomainInfo;
import io.vmrdma.shell.internal.completers.GuestDomainCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "guest-destroy",
        description = "Destroys a simulated guest domain (its process ends; the engine closes its vmrdma device)",
        detailedDescription = "Simulator only (feature vmrdma-xen-sim): on a real Xen host use xl destroy. The "
                + "engine flushes the domain's queue pairs and drops its regions. Example: vmrdma:guest-destroy web1")
@Service
public class GuestDestroyCommand implements Action {

    /** Why guest-create and guest-destroy refuse on a real Xen host (no simulator toolstack is installed there). */
    static final String NO_TOOLSTACK = "no simulated toolstack here (feature vmrdma-xen-sim is not installed): "
            + "on a Xen host, create and destroy guests with xl";

    @Reference(optional = true)
    DomainControl toolstack;

    @Argument(index = 0, name = "domain", required = true, description = "The domain's name or domid")
    @Completion(GuestDomainCompleter.class)
    String domain;

    @Override
    public Object execute() throws Exception {
        if (toolstack == null) {
            throw new IllegalStateException(NO_TOOLSTACK);
        }
        DomainInfo target = toolstack.list().stream()
                .filter(d -> d.name().equals(domain) || Integer.toString(d.domid()).equals(domain))
                .findFirst()
                .orElseThrow(
                        () -> new IllegalArgumentException("no domain named '" + domain + "' (see vmrdma:domains)"));
        toolstack.destroy(target.domid());
        System.out.println("domain " + target.domid() + " '" + target.name() + "' destroyed");
        return null;
    }
}
