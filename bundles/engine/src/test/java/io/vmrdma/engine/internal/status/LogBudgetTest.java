package io.vmrdma.engine.internal.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.helpers.MessageFormatter;

/** Lines within the budget are logged, the rest counted, and the count logged once when the period is over. */
class LogBudgetTest {

    private static final long SECOND = 1_000_000_000L;

    private final List<String> lines = new ArrayList<>();
    private final long[] clock = {0};
    private final Logger log = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(),
            new Class<?>[] {Logger.class}, (proxy, method, args) -> {
                if ((method.getName().equals("info") || method.getName().equals("warn")) && args.length == 2
                        && args[1] instanceof Object[] arguments) {
                    lines.add(method.getName() + " " + MessageFormatter.arrayFormat((String) args[0], arguments)
                            .getMessage());
                    return null;
                }
                throw new UnsupportedOperationException(method + " " + Arrays.toString(args));
            });

    @Test
    void aFloodIsCutToTheBudgetAndSummarizedWhenThePeriodEnds() {
        LogBudget budget = new LogBudget(log, "peer table changes", 3, 10 * SECOND, () -> clock[0]);
        for (int node = 1; node <= 1000; node++) {
            clock[0] = node * 1_000_000L;
            budget.info("node {} discovered", node);
        }
        assertThat(lines).containsExactly("info node 1 discovered", "info node 2 discovered", "info node 3 discovered");

        clock[0] = 9 * SECOND;
        budget.tick();
        assertThat(lines).hasSize(3);
        clock[0] = 11 * SECOND;
        budget.tick();
        assertThat(lines).hasSize(4).last()
                .isEqualTo("warn 997 more peer table changes in the last 10 s were not logged");

        clock[0] = 12 * SECOND;
        budget.warn("node {} down", 5);
        clock[0] = 30 * SECOND;
        budget.tick();
        assertThat(lines).hasSize(5).last().isEqualTo("warn node 5 down");
    }

    @Test
    void aLineInANewPeriodSaysFirstWhatTheLastOneLeftOut() {
        LogBudget budget = new LogBudget(log, "things", 1, SECOND, () -> clock[0]);
        budget.info("a");
        clock[0] = 1;
        budget.info("b");
        clock[0] = 2 * SECOND;
        budget.info("c");
        assertThat(lines).containsExactly("info a", "warn 1 more things in the last 2 s were not logged", "info c");
    }
}
