package io.vmrdma.shell.internal;

import java.util.Optional;

import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.VerbsInventory;
import io.vmrdma.shell.internal.completers.DomainIdCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

/**
 * What {@code vmrdma:qps} and {@code vmrdma:mrs} share: the engine's inventory of verbs objects, and the optional
 * domain they are narrowed to.
 */
abstract class InventoryCommand implements Action {

    @Argument(index = 0, name = "domain", description = "Only this domain: its domid (or name)")
    @Completion(DomainIdCompleter.class)
    String domain;

    @Reference(optional = true)
    VerbsInventory inventory;

    @Reference(optional = true)
    DomainRegistry registry;

    /** Whether the engine is there to ask. */
    boolean engineRunning() {
        return inventory != null && registry != null;
    }

    /** The domid asked for, or empty for all; an error when it names no domain this node serves. */
    Optional<Integer> only() {
        return DomainFilter.resolve(registry, domain);
    }

    static boolean shown(Optional<Integer> only, int domid) {
        return only.isEmpty() || only.get() == domid;
    }
}
