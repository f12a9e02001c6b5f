/**
 * The verbs of the engine: protection domains, memory regions and their keys, queue pairs, completion queues,
 * the request processing that moves data between regions, partitions, limits and the connection manager.
 * Everything here runs on the engine's data agent (or one test thread): no locks on the data path.
 */
package io.vmrdma.engine.internal.verbs;
