package io.vmrdma.itests;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import javax.inject.Inject;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.DomainState;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * The embedded default as ./run.sh starts it: two demo guests, separate processes on the simulated hypervisor,
 * connect through the dom0 backend and exchange SENDs through the engine; the console shows them moving data.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DemoGuestsIT {

    @Inject
    private DomainRegistry domains;

    @Inject
    private SessionFactory sessions;

    @Configuration
    public Option[] config() {
        return OptionUtils.combine(VmrdmaDistribution.options(), systemProperty("vmrdma.demo").value("true"));
    }

    @Test
    public void twoGuestProcessesExchangeTrafficThroughTheEngine() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!(moving("demo-server") && moving("demo-client"))) {
            assertFalse("demo guests did not exchange traffic in 90 s", System.nanoTime() > deadline);
            Thread.sleep(200);
        }
        String table = new Console(sessions).run("vmrdma:domains");
        assertTrue(table, Pattern.compile("demo-server\\s+\\|.*CONNECTED").matcher(table).find());
        assertTrue(table, Pattern.compile("demo-client\\s+\\|.*CONNECTED").matcher(table).find());
    }

    private boolean moving(String name) {
        Optional<Domain> domain = domains.byName(name);
        return domain.isPresent() && domain.get().state() == DomainState.CONNECTED
                && domain.get().counter(Counter.SEND_OPS) > 10 && domain.get().counter(Counter.RECV_OPS) > 10;
    }
}
