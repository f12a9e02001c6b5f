package io.vmrdma.itests;

import static org.ops4j.pax.exam.CoreOptions.systemTimeout;
import static org.ops4j.pax.exam.CoreOptions.vmOptions;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.Properties;

import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;

/**
 * How every integration test boots the real vmrdma distribution: the tar.gz the build made, unpacked fresh, with
 * the JVM flags {@code bin/karaf} would pass, free ports, and Maven resolution pointed at the build's own local
 * repository (the container must not reach out to the network).
 */
final class VmrdmaDistribution {

    private static final String PAX_URL = "etc/org.ops4j.pax.url.mvn.cfg";
    private static final String FEATURES = "etc/org.apache.karaf.features.cfg";

    private VmrdmaDistribution() {
    }

    static Option[] options() {
        String distribution = required("vmrdma.distribution");
        String karafVersion = required("karaf.version");
        File archive = new File(distribution);
        if (!archive.isFile()) {
            throw new IllegalStateException("distribution not built: " + archive + " (run mvn install first)");
        }
        return new Option[] {
            karafDistributionConfiguration()
                    .frameworkUrl(archive.toURI().toString())
                    .name("vmrdma")
                    .unpackDirectory(new File("target/exam"))
                    .useDeployFolder(false),
            configureConsole().ignoreLocalConsole(),
            logLevel(LogLevel.INFO),
            systemTimeout(120_000),
            // Pax Exam adds its own features to the boot list, so its remote bundle context starts in the middle of the
            // boot provisioning and may install the probe while the features service is rewriting the region digraph:
            // the probe then belongs to no region and never resolves ("Resolver hook prevented resolution"). Booting the
            // distribution's features as a stage of their own makes the exam features a later stage that begins only
            // once vmrdma is fully provisioned. The exam features are named here too, so the result is the same
            // whether Pax Exam extends this value or this value replaces its extension.
            editConfigurationFilePut(FEATURES, "featuresBoot",
                    "(" + bootFeatures(archive) + "), exam, test-dependencies"),
            editConfigurationFilePut(FEATURES, "featuresBootAsynchronous", "false"),
            editConfigurationFilePut(PAX_URL, "org.ops4j.pax.url.mvn.repositories", ""),
            editConfigurationFilePut(PAX_URL, "org.ops4j.pax.url.mvn.localRepository", required("maven.repo.local")),
            editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", freePort()),
            editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiRegistryPort", freePort()),
            editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiServerPort", freePort()),
            vmOptions(
                    "--add-reads=java.xml=java.logging",
                    "--add-exports=java.base/org.apache.karaf.specs.locator=java.xml,ALL-UNNAMED",
                    "--patch-module", "java.base=lib/endorsed/org.apache.karaf.specs.locator-" + karafVersion + ".jar",
                    "--patch-module", "java.xml=lib/endorsed/org.apache.karaf.specs.java.xml-" + karafVersion + ".jar",
                    "--add-opens", "java.base/java.security=ALL-UNNAMED",
                    "--add-opens", "java.base/java.net=ALL-UNNAMED",
                    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                    "--add-opens", "java.base/java.util=ALL-UNNAMED",
                    "--add-opens", "java.naming/javax.naming.spi=ALL-UNNAMED",
                    "--add-opens", "java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.www.protocol.file=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.www.protocol.ftp=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.www.content.text=ALL-UNNAMED",
                    "--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED",
                    "--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED",
                    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                    "--add-exports=java.security.sasl/com.sun.security.sasl=ALL-UNNAMED",
                    "--add-exports=java.naming/com.sun.jndi.ldap=ALL-UNNAMED")
        };
    }

    /** The boot feature list of the distribution the build assembled (the directory the tar.gz was made from). */
    private static String bootFeatures(File archive) {
        File cfg = new File(archive.getParentFile(), "assembly/" + FEATURES);
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(cfg.toPath())) {
            properties.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the distribution's boot features from " + cfg, e);
        }
        String boot = properties.getProperty("featuresBoot", "").trim();
        if (boot.isEmpty() || boot.contains("(")) {
            throw new IllegalStateException("expected a plain featuresBoot list in " + cfg + ", found '" + boot + "'");
        }
        return boot;
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set (run through Maven)");
        }
        return value;
    }

    private static String freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return Integer.toString(socket.getLocalPort());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
