package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.VmSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SchedulingCommandsTest {

    private record Settings(int weight, int priority, long rateBytesPerSecond, long burstBytes)
            implements
                VmSettings {
    }

    /** The engine's side in memory: validation here only as far as these tests need it. */
    private static final class FakeControl implements SchedulingControl {
        final SortedMap<String, String> installed = new TreeMap<>();
        final TreeMap<String, Settings> domains = new TreeMap<>();
        String configured = "rr";
        String active = "rr";
        boolean shaperOn;
        String shaperDescription;

        @Override
        public SortedMap<String, String> orderingPolicies() {
            return installed;
        }

        @Override
        public Optional<String> shaper() {
            return Optional.ofNullable(shaperDescription);
        }

        @Override
        public String configuredPolicy() {
            return configured;
        }

        @Override
        public Optional<String> activePolicy() {
            return Optional.ofNullable(active);
        }

        @Override
        public boolean shaperEnabled() {
            return shaperOn;
        }

        @Override
        public void activate(String policy) {
            if (!installed.containsKey(policy)) {
                throw new IllegalArgumentException("no ordering policy '" + policy + "' is installed");
            }
            configured = policy;
            active = policy;
        }

        @Override
        public void enableShaper(boolean on) {
            shaperOn = on;
        }

        @Override
        public SortedSet<String> configuredDomains() {
            return new TreeSet<>(domains.keySet());
        }

        @Override
        public VmSettings settings(String domainName) {
            return domains.getOrDefault(domainName, new Settings(1, 4, 0, 0));
        }

        @Override
        public VmSettings updateWeight(String domainName, String weight) {
            Settings s = (Settings) settings(domainName);
            int w = Integer.parseInt(weight);
            if (w < 1) {
                throw new IllegalArgumentException(domainName + ".weight: " + weight + " is out of range");
            }
            domains.put(domainName, new Settings(w, s.priority(), s.rateBytesPerSecond(), s.burstBytes()));
            return domains.get(domainName);
        }

        @Override
        public VmSettings updatePriority(String domainName, String level) {
            Settings s = (Settings) settings(domainName);
            domains.put(domainName, new Settings(s.weight(), Integer.parseInt(level), s.rateBytesPerSecond(),
                    s.burstBytes()));
            return domains.get(domainName);
        }

        @Override
        public VmSettings updateRate(String domainName, String rate, String burst) {
            Settings s = (Settings) settings(domainName);
            long r = rate.equals("100M") ? 100_000_000L : Long.parseLong(rate);
            long b = burst == null ? 1_000_000L : Long.parseLong(burst);
            domains.put(domainName, new Settings(s.weight(), s.priority(), r, b));
            return domains.get(domainName);
        }
    }

    private final FakeControl control = new FakeControl();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream console = System.out;

    private String run(Callable<Object> command) throws Exception {
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            command.call();
        } finally {
            System.setOut(console);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @AfterEach
    void restoreConsole() {
        System.setOut(console);
    }

    private PolicyCommand policy(String name, String onOff) {
        PolicyCommand command = new PolicyCommand();
        command.control = control;
        command.name = name;
        command.onOff = onOff;
        return command;
    }

    @Test
    void policyListsAllFourMarksTheOneInChargeAndShowsTheShaper() throws Exception {
        control.installed.put("rr", "round-robin");
        control.installed.put("drr", "deficit round-robin");
        control.installed.put("custom", "a third party's policy");
        control.shaperDescription = "token bucket";
        control.shaperOn = true;

        String out = run(policy(null, null)::execute);
        assertThat(out).containsPattern("\\*\\s+\\S\\s+rr\\s+\\S\\s+ordering\\s+\\S\\s+in charge\\s+\\S\\s+round-robin")
                .containsPattern("\\s+drr\\s+\\S\\s+ordering\\s+\\S\\s+installed")
                .containsPattern("\\s+priority\\s+\\S\\s+ordering\\s+\\S\\s+not installed")
                .containsPattern("\\s+custom\\s+\\S\\s+ordering\\s+\\S\\s+installed")
                .containsPattern("\\+\\s+\\S\\s+shaper\\s+\\S\\s+shaper\\s+\\S\\s+on\\s+\\S\\s+token bucket")
                .doesNotContain("built-in");
    }

    @Test
    void policyTellsWhenTheBuiltInRoundRobinStandsIn() throws Exception {
        control.installed.put("rr", "round-robin");
        control.configured = "priority";
        control.active = null;

        String out = run(policy(null, null)::execute);
        assertThat(out).containsPattern("priority\\s+\\S\\s+ordering\\s+\\S\\s+configured, not installed")
                .containsPattern("shaper\\s+\\S\\s+shaper\\s+\\S\\s+off, not installed")
                .contains("The built-in round-robin is in charge until 'priority' is installed and starts.")
                .doesNotContain("*");
    }

    @Test
    void policyNameActivatesAndTheShaperIsSwitchedOnAndOff() throws Exception {
        control.installed.put("rr", "round-robin");
        control.installed.put("drr", "deficit round-robin");
        assertThat(run(policy("drr", null)::execute)).contains("Activated ordering policy 'drr'");
        assertThat(control.active).isEqualTo("drr");

        assertThat(run(policy("shaper", "on")::execute)).contains("Shaper switched on; its bundle is not installed");
        assertThat(control.shaperOn).isTrue();
        run(policy("shaper", "off")::execute);
        assertThat(control.shaperOn).isFalse();

        assertThatIllegalArgumentException().isThrownBy(policy("shaper", null)::execute)
                .withMessageContaining("vmrdma:policy shaper on|off (it is off)");
        assertThatIllegalArgumentException().isThrownBy(policy("drr", "on")::execute)
                .withMessageContaining("on|off applies to the shaper only");
        assertThatIllegalArgumentException().isThrownBy(policy("priority", null)::execute)
                .withMessageContaining("no ordering policy 'priority' is installed");
    }

    @Test
    void domainCommandsShowOrSetAndPrintTheSettingsInForce() throws Exception {
        WeightCommand weight = new WeightCommand();
        weight.control = control;
        weight.domain = "web1";
        assertThat(run(weight::execute)).containsPattern("web1\\s+\\S\\s+1\\s+\\S\\s+4\\s+\\S\\s+none\\s+\\S\\s+-");

        weight.weight = "3";
        PriorityCommand priority = new PriorityCommand();
        priority.control = control;
        priority.domain = "web1";
        priority.level = "0";
        RateCommand rate = new RateCommand();
        rate.control = control;
        rate.domain = "web1";
        rate.rate = "100M";
        run(weight::execute);
        run(priority::execute);
        assertThat(run(rate::execute))
                .containsPattern("web1\\s+\\S\\s+3\\s+\\S\\s+0\\s+\\S\\s+100M\\s+\\S\\s+1M");

        weight.weight = "0";
        assertThatIllegalArgumentException().isThrownBy(weight::execute).withMessage("web1.weight: 0 is out of range");
        RateCommand burstOnly = new RateCommand();
        burstOnly.control = control;
        burstOnly.domain = "web1";
        burstOnly.burst = "1M";
        assertThatIllegalArgumentException().isThrownBy(burstOnly::execute)
                .withMessageContaining("--burst comes with a rate");
    }

    @Test
    void withoutTheEngineTheCommandsSaySo() throws Exception {
        PolicyCommand command = policy(null, null);
        command.control = null;
        assertThat(run(command::execute)).contains("engine is not running");
        WeightCommand weight = new WeightCommand();
        weight.domain = "web1";
        assertThat(run(weight::execute)).contains("engine is not running");
    }

    @Test
    void quantitiesPrintInTheLargestExactUnit() {
        assertThat(SchedulingReport.quantity(100_000_000L)).isEqualTo("100M");
        assertThat(SchedulingReport.quantity(1_500_000_000L)).isEqualTo("1500M");
        assertThat(SchedulingReport.quantity(65_536)).isEqualTo("64Ki");
        assertThat(SchedulingReport.quantity(2L << 20)).isEqualTo("2Mi");
        assertThat(SchedulingReport.quantity(9001)).isEqualTo("9001");
        assertThat(SchedulingReport.quantity(0)).isEqualTo("0");
    }
}
