package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.DomainMigration;
import io.vmrdma.shell.internal.completers.DomainNameCompleter;
import io.vmrdma.shell.internal.completers.PeerNodeCompleter;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "migrate",
        description = "Moves a domain's vmrdma state to another node's engine, its connections open",
        detailedDescription = "The queue pairs, memory regions (with their keys), completion queues and connections of "
                + "the domain go to the engine of node NODE, which must be an up peer (vmrdma:peers); the peers of its "
                + "queue pairs follow it there. The hypervisor moves the domain's memory. Prints each step and the "
                + "time the domain was paused; a migration that fails leaves the domain running here as it was. "
                + "Example: vmrdma:migrate web1 --to 3")
@Service
public class MigrateCommand implements Action {

    /** Longest the command waits for the outcome: the engine itself gives up on a silent destination far sooner. */
    static final long WAIT_SECONDS = 30;

    @Reference(optional = true)
    DomainMigration migration;

    @Argument(index = 0, name = "domain", required = true, description = "The domain's name or domid")
    @Completion(DomainNameCompleter.class)
    String domain;

    @Option(name = "--to", required = true, description = "The node the domain goes to")
    @Completion(PeerNodeCompleter.class)
    int node;

    @Override
    public Object execute() throws Exception {
        if (migration == null) {
            throw new IllegalStateException("the vmrdma engine is not running");
        }
        System.out.println(MigrationReport.await(migration, domain, node, System.out));
        return null;
    }

    /** Runs one migration and says how it went, step by step on {@code out}; separate from the command for tests. */
    static final class MigrationReport implements DomainMigration.Listener {

        private final PrintStream out;
        private final String domain;
        private final int node;
        private final CompletableFuture<String> outcome = new CompletableFuture<>();

        private MigrationReport(PrintStream out, String domain, int node) {
            this.out = out;
            this.domain = domain;
            this.node = node;
        }

        static String await(DomainMigration migration, String domain, int node, PrintStream out) throws Exception {
            MigrationReport report = new MigrationReport(out, domain, node);
            out.println("migrating " + domain + " to node " + node + ": offered");
            migration.migrate(domain, node, report);
            return report.outcome.get(WAIT_SECONDS, TimeUnit.SECONDS);
        }

        @Override
        public void paused(int stateBytes) {
            out.println("migrating " + domain + " to node " + node + ": paused, " + stateBytes
                    + " bytes of state on their way");
        }

        @Override
        public void completed(long pauseNanos) {
            outcome.complete(domain + " runs on node " + node + " now; paused " + Units.millis(pauseNanos));
        }

        @Override
        public void failed(String reason) {
            outcome.completeExceptionally(new IllegalStateException("migration of " + domain + " to node " + node
                    + " failed, it runs here as before: " + reason));
        }
    }
}
