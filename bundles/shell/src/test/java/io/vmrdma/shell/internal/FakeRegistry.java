package io.vmrdma.shell.internal;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.DomainState;

/** Domains with counters a test sets, as the engine's registry would present them. */
final class FakeRegistry implements DomainRegistry {

    static final class FakeDomain implements Domain {
        private final int domid;
        private final String name;
        final Map<Counter, Long> counters = new EnumMap<>(Counter.class);
        /** The devices the test says the domain has: device 0 of an unnamed process unless set. */
        java.util.List<io.vmrdma.api.DeviceInfo> devices = java.util.List.of(new io.vmrdma.api.DeviceInfo(0, -1));
        int migratingTo = -1;

        FakeDomain(int domid, String name) {
            this.domid = domid;
            this.name = name;
        }

        @Override
        public int domid() {
            return domid;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public DomainState state() {
            return DomainState.CONNECTED;
        }

        @Override
        public int migratingTo() {
            return migratingTo;
        }

        @Override
        public long counter(Counter counter) {
            return counters.getOrDefault(counter, 0L);
        }

        @Override
        public java.util.List<io.vmrdma.api.DeviceInfo> devices() {
            return devices;
        }
    }

    final List<FakeDomain> domains;

    FakeRegistry(FakeDomain... domains) {
        this.domains = List.of(domains);
    }

    @Override
    public List<Domain> domains() {
        return List.copyOf(domains);
    }

    @Override
    public Optional<Domain> byDomid(int domid) {
        return domains.stream().filter(d -> d.domid() == domid).map(Domain.class::cast).findFirst();
    }

    @Override
    public Optional<Domain> byName(String name) {
        return domains.stream().filter(d -> d.name().equals(name)).map(Domain.class::cast).findFirst();
    }
}
