package io.vmrdma.shell.internal;

import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.DomainControl.DomainInfo;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "guest-destroy",
        description = "Destroys a simulated guest domain (its process ends; the engine closes its vmrdma device)")
@Service
public class GuestDestroyCommand implements Action {

    @Reference
    DomainControl toolstack;

    @Argument(index = 0, name = "domain", required = true, description = "The domain's name or domid")
    String domain;

    @Override
    public Object execute() throws Exception {
        DomainInfo target = toolstack.list().stream()
                .filter(d -> d.name().equals(domain) || Integer.toString(d.domid()).equals(domain))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no domain named '" + domain + "' (see vmrdma:domains)"));
        toolstack.destroy(target.domid());
        System.out.println("domain " + target.domid() + " '" + target.name() + "' destroyed");
        return null;
    }
}
