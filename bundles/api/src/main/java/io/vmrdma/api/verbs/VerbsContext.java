package io.vmrdma.api.verbs;

import java.nio.ByteBuffer;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One domain's view of the engine's verbs, as an {@code ibv_context} plus the connection manager of
 * {@code rdma_cm}. Every object made here belongs to the domain; per-domain limits apply and are reported as
 * {@link VerbsErrno#EDQUOT}.
 *
 * <p>Not thread-safe: a context is used from the engine's data agent (the per-guest backend serves a guest's
 * ring from there), or from one thread that also drives the engine, as tests do.
 */
@ProviderType
public interface VerbsContext {

    /** The domain this context serves. */
    int domid();

    ProtectionDomain allocPd() throws VerbsException;

    /** Frees a protection domain; EBUSY while regions or queue pairs still use it. */
    void deallocPd(ProtectionDomain pd) throws VerbsException;

    /**
     * Registers memory the engine can reach: {@code memory} (a direct buffer over the domain's pages, already
     * mapped) holds the region's bytes from position 0 to its capacity; {@code address} is what the owner calls
     * its first byte. The engine keeps the buffer until {@link #deregMr}.
     */
    MemoryRegion regMr(ProtectionDomain pd, ByteBuffer memory, long address, int access) throws VerbsException;

    /**
     * Deregisters a region. Work already in flight that reaches it afterwards completes with a protection or
     * remote-access error, as in verbs; the engine never touches the buffer again once this returns.
     */
    void deregMr(MemoryRegion region) throws VerbsException;

    CompletionQueue createCq(int depth) throws VerbsException;

    /** Destroys a completion queue; EBUSY while a queue pair still uses it. */
    void destroyCq(CompletionQueue cq) throws VerbsException;

    /** Creates a reliable connected queue pair in RESET. */
    QueuePair createQp(QpInitAttributes attributes) throws VerbsException;

    /** Moves a queue pair through its state machine; EINVAL for a transition verbs does not allow. */
    void modifyQp(QueuePair qp, QpAttributes attributes) throws VerbsException;

    /** Destroys a queue pair; its outstanding work is dropped without completions, as ibv_destroy_qp does. */
    void destroyQp(QueuePair qp) throws VerbsException;

    /** Listens for connections to {@code serviceId} on this node; EEXIST when another domain listens on it. */
    void listen(long serviceId) throws VerbsException;

    /** Stops listening on {@code serviceId}. */
    void stopListening(long serviceId) throws VerbsException;

    /**
     * Asks to connect {@code qp} (in RESET) to whoever listens on {@code serviceId} at {@code node}, within
     * partition {@code pkey} (or the first partition both domains share, when -1). The answer arrives as an
     * ESTABLISHED, REJECTED or UNREACHABLE event naming the returned connection id.
     */
    long connect(QueuePair qp, int node, long serviceId, int pkey, byte[] privateData) throws VerbsException;

    /** Accepts a CONNECT_REQUEST with {@code qp} (in RESET); both queue pairs reach RTS. */
    void accept(long connectionId, QueuePair qp, byte[] privateData) throws VerbsException;

    /** Rejects a CONNECT_REQUEST. */
    void reject(long connectionId, String reason) throws VerbsException;

    /** Closes the connection of {@code qp}: both sides get DISCONNECTED and their queue pairs go to ERR. */
    void disconnect(QueuePair qp) throws VerbsException;

    /** Moves the oldest connection-manager event into {@code into}; false when there is none. */
    boolean pollCmEvent(CmEvent into);
}
