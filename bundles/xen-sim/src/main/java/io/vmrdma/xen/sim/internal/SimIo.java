package io.vmrdma.xen.sim.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Unix-socket server guests reach the simulator through: one selector thread for every listening socket and
 * connection of every domain. Messages are framed by a 16-byte little-endian header whose last word is the
 * payload length (the XenStore header, reused for hypercalls). Input is read and handled on the selector thread;
 * output may be sent from any thread and never blocks: what the socket does not take at once is queued, and a
 * peer that lets more than {@link #MAX_QUEUED_BYTES} pile up is disconnected.
 */
final class SimIo implements AutoCloseable {

    static final int HEADER_LENGTH = 16;
    static final int MAX_QUEUED_BYTES = 1 << 20;
    private static final Logger LOG = LoggerFactory.getLogger(SimIo.class);

    /** What a connection speaks. Called on the selector thread. */
    interface Protocol {
        /** Largest payload accepted; a bigger header length goes to {@link #onOversize}. */
        int maxPayload();

        void onMessage(SimConnection connection, int type, int reqId, int txId, byte[] payload);

        /** The peer announced {@code length} payload bytes; answer if the protocol says so, then it is closed. */
        void onOversize(SimConnection connection, int length);

        void onClose(SimConnection connection);
    }

    private final SimCounters counters;
    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;

    SimIo(SimCounters counters) throws IOException {
        this.counters = counters;
        this.selector = Selector.open();
        this.thread = new Thread(this::run, "xen-sim-io");
        thread.setDaemon(true);
        thread.start();
    }

    /** Listens on a new socket at {@code path}; each accepted connection gets its own protocol instance. */
    Listener listen(Path path, Function<SimConnection, Protocol> protocols) throws IOException {
        Files.deleteIfExists(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        server.configureBlocking(false);
        Listener listener = new Listener(server, path, protocols);
        execute(() -> {
            try {
                server.register(selector, SelectionKey.OP_ACCEPT, listener);
            } catch (ClosedChannelException e) {
                // closed before it was registered
            }
        });
        return listener;
    }

    /** Runs {@code task} on the selector thread and waits for it (or runs it now when on that thread). */
    void executeAndWait(Runnable task) {
        if (Thread.currentThread() == thread || !running) {
            task.run();
            return;
        }
        Object done = new Object();
        boolean[] finished = {false};
        execute(() -> {
            try {
                task.run();
            } finally {
                synchronized (done) {
                    finished[0] = true;
                    done.notifyAll();
                }
            }
        });
        synchronized (done) {
            while (!finished[0] && running) {
                try {
                    done.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void execute(Runnable task) {
        tasks.add(task);
        selector.wakeup();
    }

    private void run() {
        while (running) {
            try {
                selector.select();
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    task.run();
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    handle(key);
                }
                selector.selectedKeys().clear();
            } catch (IOException | RuntimeException e) {
                LOG.error("xen.sim I/O loop", e);
            }
        }
    }

    private void handle(SelectionKey key) {
        if (!key.isValid()) {
            return;
        }
        if (key.attachment() instanceof Listener listener) {
            listener.accept();
            return;
        }
        SimConnection c = (SimConnection) key.attachment();
        if (key.isValid() && key.isWritable()) {
            c.flush();
        }
        if (key.isValid() && key.isReadable()) {
            c.readAvailable();
        }
    }

    @Override
    public void close() {
        executeAndWait(() -> {
            for (SelectionKey key : new ArrayList<>(selector.keys())) {
                if (key.attachment() instanceof Listener l) {
                    l.close();
                } else if (key.attachment() instanceof SimConnection c) {
                    c.close();
                }
            }
        });
        running = false;
        selector.wakeup();
        try {
            thread.join(5000);
            selector.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.warn("closing selector", e);
        }
    }

    /** A listening socket and the connections accepted through it. */
    final class Listener {
        private final ServerSocketChannel server;
        private final Path path;
        private final Function<SimConnection, Protocol> protocols;
        private final List<SimConnection> connections = new ArrayList<>();

        Listener(ServerSocketChannel server, Path path, Function<SimConnection, Protocol> protocols) {
            this.server = server;
            this.path = path;
            this.protocols = protocols;
        }

        private void accept() {
            try {
                SocketChannel ch;
                while ((ch = server.accept()) != null) {
                    ch.configureBlocking(false);
                    SimConnection c = new SimConnection(ch, this);
                    c.key = ch.register(selector, SelectionKey.OP_READ, c);
                    c.protocol = protocols.apply(c);
                    connections.add(c);
                }
            } catch (IOException e) {
                LOG.warn("accept on {}", path, e);
            }
        }

        /** Stops listening, removes the socket file and closes every connection accepted here. */
        void close() {
            executeAndWait(() -> {
                try {
                    server.close();
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    LOG.warn("closing {}", path, e);
                }
                for (SimConnection c : new ArrayList<>(connections)) {
                    c.close();
                }
            });
        }
    }

    /** One accepted connection. */
    final class SimConnection {
        private final SocketChannel channel;
        private final Listener listener;
        private final ArrayDeque<ByteBuffer> queued = new ArrayDeque<>();
        private int queuedBytes;
        private ByteBuffer in = ByteBuffer.allocate(HEADER_LENGTH + 4096).order(ByteOrder.LITTLE_ENDIAN);
        private SelectionKey key;
        private Protocol protocol;
        private boolean closed;

        SimConnection(SocketChannel channel, Listener listener) {
            this.channel = channel;
            this.listener = listener;
        }

        /** Sends one message: header {type, reqId, txId, len} then payload. Never blocks. */
        void send(int type, int reqId, int txId, byte[] payload) {
            ByteBuffer msg = ByteBuffer.allocate(HEADER_LENGTH + payload.length).order(ByteOrder.LITTLE_ENDIAN);
            msg.putInt(type).putInt(reqId).putInt(txId).putInt(payload.length).put(payload).flip();
            boolean overrun;
            synchronized (this) {
                if (closed) {
                    return;
                }
                try {
                    if (queued.isEmpty()) {
                        channel.write(msg);
                    }
                } catch (IOException e) {
                    msg.position(msg.limit());
                }
                if (msg.hasRemaining()) {
                    queued.add(msg);
                    queuedBytes += msg.remaining();
                    if (key != null && key.isValid()) {
                        key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                        selector.wakeup();
                    }
                }
                overrun = queuedBytes > MAX_QUEUED_BYTES;
            }
            if (overrun) {
                counters.increment(Counter.CONNECTION_OVERRUN);
                execute(this::close);
            }
        }

        private synchronized void flush() {
            try {
                while (!queued.isEmpty()) {
                    ByteBuffer head = queued.peek();
                    int n = channel.write(head);
                    queuedBytes -= n;
                    if (head.hasRemaining()) {
                        return;
                    }
                    queued.poll();
                }
                if (key.isValid()) {
                    key.interestOps(SelectionKey.OP_READ);
                }
            } catch (IOException e) {
                execute(this::close);
            }
        }

        private void readAvailable() {
            int n;
            try {
                n = channel.read(in);
            } catch (IOException e) {
                n = -1;
            }
            if (n < 0) {
                close();
                return;
            }
            in.flip();
            while (!closed && in.remaining() >= HEADER_LENGTH) {
                int start = in.position();
                int len = in.getInt(start + 12);
                if (len < 0 || len > protocol.maxPayload()) {
                    protocol.onOversize(this, len);
                    close();
                    return;
                }
                if (in.remaining() < HEADER_LENGTH + len) {
                    if (in.capacity() < HEADER_LENGTH + len) {
                        ByteBuffer bigger = ByteBuffer.allocate(HEADER_LENGTH + len).order(ByteOrder.LITTLE_ENDIAN);
                        bigger.put(in);
                        in = bigger;
                        return;
                    }
                    break;
                }
                byte[] payload = new byte[len];
                in.get(start + HEADER_LENGTH, payload);
                int type = in.getInt(start);
                int reqId = in.getInt(start + 4);
                int txId = in.getInt(start + 8);
                in.position(start + HEADER_LENGTH + len);
                protocol.onMessage(this, type, reqId, txId, payload);
            }
            if (!closed) {
                in.compact();
            }
        }

        /** Closes the connection; the protocol cleans up its handle. Idempotent. */
        void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                queued.clear();
            }
            if (key != null) {
                key.cancel();
            }
            try {
                channel.close();
            } catch (IOException e) {
                // closing anyway
            }
            listener.connections.remove(this);
            if (protocol != null) {
                protocol.onClose(this);
            }
        }
    }
}
