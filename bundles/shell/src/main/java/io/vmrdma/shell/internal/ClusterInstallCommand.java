package io.vmrdma.shell.internal;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.cluster.ClusterView;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "vmrdma", name = "cluster-install",
        description = "Installs or updates a feature (a scheduler policy, say) on every node of the cluster, and says "
                + "how it went on each",
        detailedDescription = "Nodes that join later install it too. Where another version of the feature is "
                + "installed, the node updates it (the old version goes). A node that fails says why; the others go "
                + "on. To put the new policy in charge everywhere afterwards: vmrdma:policy NAME on any node.")
@Service
public class ClusterInstallCommand implements Action {

    @Argument(index = 0, name = "feature", required = true,
            description = "The feature, NAME (its newest version) or NAME/VERSION, e.g. vmrdma-sched-priority")
    String feature;

    @Option(name = "--repository",
            description = "A features repository every node adds first, where the new version is (e.g. "
                    + "mvn:io.vmrdma/vmrdma-features/0.2.0/xml/features)")
    String repository;

    @Option(name = "--timeout", description = "Seconds to wait for every live node's answer (default 120)")
    int timeoutSeconds = 120;

    @Reference(optional = true)
    ClusterView cluster;

    @Override
    public Object execute() throws InterruptedException {
        if (cluster == null) {
            System.out.println(ClusterReport.STANDALONE);
            return null;
        }
        Map<Integer, String> outcomes;
        try {
            outcomes = cluster.rollOut(feature, Optional.ofNullable(repository).map(URI::create),
                    Duration.ofSeconds(Math.max(1, timeoutSeconds)));
        } catch (IllegalStateException | IllegalArgumentException e) {
            System.out.println(e.getMessage());
            return null;
        }
        ClusterReport.printOutcomes(feature, outcomes, System.out);
        return null;
    }
}
