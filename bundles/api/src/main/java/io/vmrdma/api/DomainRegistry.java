package io.vmrdma.api;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/** The guest domains this node serves, as the engine tracks them. */
@ProviderType
public interface DomainRegistry {

    /** A snapshot of all domains, ordered by domid. */
    List<Domain> domains();

    /** The domain with this domid, if it is known. */
    Optional<Domain> byDomid(int domid);

    /** The domain with this name, if it is known. */
    Optional<Domain> byName(String name);
}
