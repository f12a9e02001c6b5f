package io.vmrdma.shell.internal;

import java.util.Optional;

import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;

/**
 * The optional domain argument of {@code vmrdma:qps} and {@code vmrdma:mrs}: a domid, or a domain name for
 * convenience. An argument that names no domain the engine serves is an error, so a typo never looks like an idle
 * domain.
 */
final class DomainFilter {

    private DomainFilter() {
    }

    /**
     * @return the domid to show, or empty for all domains when {@code argument} is null
     * @throws IllegalArgumentException when the argument names no domain this node serves
     */
    static Optional<Integer> resolve(DomainRegistry registry, String argument) {
        if (argument == null) {
            return Optional.empty();
        }
        String text = argument.trim();
        Optional<Domain> domain;
        try {
            int domid = Integer.parseInt(text);
            domain = registry.byDomid(domid);
        } catch (NumberFormatException e) {
            domain = registry.byName(text);
        }
        return Optional.of(domain.orElseThrow(() -> new IllegalArgumentException("unknown domain " + text
                + ": no connected vmrdma device has that domid or name (vmrdma:domains lists them)")).domid());
    }
}
