package io.vmrdma.engine.internal.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.helpers.MessageFormatter;

/** A sudden rise of one drop cause is said once, with its rate and source; steady or slow drops are not. */
class DropAlarmTest {

    private static final long SECOND = 1_000_000_000L;

    private final List<String> lines = new ArrayList<>();
    private final Map<Counter, Long> counters = new EnumMap<>(Counter.class);
    private final Logger log = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(),
            new Class<?>[] {Logger.class}, (proxy, method, args) -> {
                if (method.getName().equals("warn") && args.length == 2 && args[1] instanceof Object[] arguments) {
                    lines.add(MessageFormatter.arrayFormat((String) args[0], arguments).getMessage());
                    return null;
                }
                throw new UnsupportedOperationException(method + " " + Arrays.toString(args));
            });
    private final DropAlarm alarm = new DropAlarm(log);

    private void second(int s) {
        alarm.sample(s * SECOND, c -> counters.getOrDefault(c, 0L));
    }

    private void add(Counter counter, long n) {
        counters.merge(counter, n, Long::sum);
    }

    @Test
    void aFloodIsReportedOnceAMinuteWithItsCauseRateAndSource() {
        second(0);
        for (int s = 1; s <= 30; s++) {
            add(Counter.DUPLICATES_DROPPED, 3); // the usual trickle of retransmissions that crossed an ACK
            second(s);
        }
        assertThat(lines).isEmpty();

        alarm.dropped(Counter.CRC_ERRORS, LinkAddress.parse("02:00:00:00:00:66"));
        add(Counter.CRC_ERRORS, 50_000);
        second(31);
        assertThat(lines).containsExactly("frame drops rising: header CRC 50000 frames/s (usually 0/s), the last "
                + "from 02:00:00:00:00:66; counted in vmrdma:status and vmrdma:stats");

        for (int s = 32; s < 91; s++) {
            add(Counter.CRC_ERRORS, 50_000);
            second(s);
        }
        assertThat(lines).as("quiet for a minute after a report").hasSize(1);
        add(Counter.CRC_ERRORS, 5_000_000);
        second(91);
        assertThat(lines).hasSize(2).last().asString().startsWith("frame drops rising: header CRC 5000000 frames/s");
    }

    @Test
    void ratesAreOverTheTimeThatPassedAndSmallOrSteadyCountsStayQuiet() {
        second(0);
        add(Counter.AUTH_FAILURES, 90);
        second(1);
        assertThat(lines).as("below the floor of 100 a second").isEmpty();
        add(Counter.AUTH_FAILURES, 1000);
        second(11);
        assertThat(lines).as("1000 in 10 s is 100 a second: at the floor, and ten times the usual").hasSize(1)
                .first().asString().contains("unauthenticated 100 frames/s").contains("an unknown source");
        alarm.sample(11 * SECOND + 5, c -> 1_000_000L);
        assertThat(lines).as("no sample before a second has passed").hasSize(1);
    }
}
