/**
 * JMX views of the engine for operators and monitoring (JConsole, Jolokia, a Prometheus JMX exporter): the node,
 * each domain, each peer and the scheduler, registered as OSGi services that the Aries JMX whiteboard of Karaf's
 * {@code management} feature puts into the platform MBean server.
 */
package io.vmrdma.engine.internal.jmx;
