package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import io.vmrdma.api.DomainMigration;
import org.junit.jupiter.api.Test;

class MigrateCommandTest {

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

    @Test
    void printsEachStepAndThePauseOfAMigrationThatCompletes() throws Exception {
        DomainMigration engine = (domain, node, listener) -> {
            listener.paused(4321);
            listener.completed(12_345_678);
        };
        String outcome = MigrateCommand.MigrationReport.await(engine, "web1", 3, out);
        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("web1 to node 3: offered")
                .contains("paused, 4321 bytes");
        assertThat(outcome).isEqualTo("web1 runs on node 3 now; paused 12.3 ms");
    }

    @Test
    void saysWhyAMigrationFailedAndThatTheDomainStayed() {
        DomainMigration engine = (domain, node, listener) -> listener.failed("node 3 did not answer");
        assertThatThrownBy(() -> MigrateCommand.MigrationReport.await(engine, "web1", 3, out))
                .hasRootCauseMessage(
                        "migration of web1 to node 3 failed, it runs here as before: node 3 did not answer");
    }
}
