package io.vmrdma.cluster.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The links between Hazelcast members on loopback, through relays a test can cut: the network of a split. Member
 * {@code i} listens on its own loopback address {@code 127.0.0.(11+i)} and is known to the others by its relay's port
 * on that address; members bind their outgoing connections to their own address, so a relay tells the member that
 * connects by its source address, and forwards only while the two are not cut apart. Cutting closes the connections
 * between the two sides at once, as a pulled cable would end them.
 */
final class RelayedLinks implements AutoCloseable {

    private final int members;
    private final int[] relayPorts;
    private final int[] memberPorts;
    private final List<ServerSocket> relays = new ArrayList<>();
    /** Pairs {@code i * members + j} (i accepting from j) that are cut. */
    private final Set<Integer> cut = ConcurrentHashMap.newKeySet();
    private final List<Link> links = new CopyOnWriteArrayList<>();

    /** Relays for {@code members} members whose own ports start at {@code base}, the relays' after them. */
    RelayedLinks(int members, int base) throws IOException {
        this.members = members;
        this.memberPorts = new int[members];
        this.relayPorts = new int[members];
        for (int i = 0; i < members; i++) {
            memberPorts[i] = base + i;
            relayPorts[i] = base + members + i;
            ServerSocket relay = new ServerSocket();
            relay.bind(new InetSocketAddress(address(i), relayPorts[i]));
            relays.add(relay);
            int accepting = i;
            Thread acceptor = new Thread(() -> accept(accepting, relay), "relay-" + i);
            acceptor.setDaemon(true);
            acceptor.start();
        }
    }

    static String address(int member) {
        return "127.0.0." + (11 + member);
    }

    /** Where member {@code i} listens itself. */
    int memberPort(int i) {
        return memberPorts[i];
    }

    /** How the others reach member {@code i}: its relay, as {@code ADDRESS:PORT}. */
    String publicAddress(int i) {
        return address(i) + ":" + relayPorts[i];
    }

    /** Cuts {@code member} off from every other member. */
    void isolate(int member) {
        for (int other = 0; other < members; other++) {
            if (other != member) {
                cut.add(member * members + other);
                cut.add(other * members + member);
            }
        }
        for (Link link : links) {
            if (cut.contains(link.pair)) {
                link.close();
            }
        }
    }

    /** Every link works again. */
    void heal() {
        cut.clear();
    }

    @Override
    public void close() throws IOException {
        for (ServerSocket relay : relays) {
            relay.close();
        }
        links.forEach(Link::close);
    }

    private void accept(int accepting, ServerSocket relay) {
        while (!relay.isClosed()) {
            try {
                Socket from = relay.accept();
                int connecting = memberAt(from.getInetAddress());
                int pair = accepting * members + connecting;
                if (connecting < 0 || cut.contains(pair)) {
                    from.close();
                    continue;
                }
                Socket to = memberBehind(accepting, from);
                if (to == null) {
                    continue;
                }
                Link link = new Link(pair, from, to);
                links.add(link);
                link.start();
            } catch (IOException e) {
                // The relay closed, or one connection failed: the member retries as after any network failure.
            }
        }
    }

    /**
     * A connection to the member behind relay {@code accepting}, or null when it does not listen (not started yet,
     * or shut down): then the connection relayed is closed too, so the caller sees a refusal as without a relay, not
     * an open connection that never answers (which a joining member waits on until its join times out).
     */
    private Socket memberBehind(int accepting, Socket from) throws IOException {
        try {
            return new Socket(address(accepting), memberPorts[accepting]);
        } catch (IOException refused) {
            from.close();
            return null;
        }
    }

    private int memberAt(InetAddress source) {
        for (int i = 0; i < members; i++) {
            if (source.getHostAddress().equals(address(i))) {
                return i;
            }
        }
        return -1;
    }

    /** One relayed connection: bytes pumped both ways until either side or a cut closes it. */
    private final class Link {

        final int pair;
        private final Socket from;
        private final Socket to;

        Link(int pair, Socket from, Socket to) {
            this.pair = pair;
            this.from = from;
            this.to = to;
        }

        void start() {
            pump(from, to);
            pump(to, from);
        }

        private void pump(Socket in, Socket out) {
            Thread pump = new Thread(() -> {
                try (InputStream source = in.getInputStream(); OutputStream sink = out.getOutputStream()) {
                    source.transferTo(sink);
                } catch (IOException e) {
                    // Closed by the other direction, a member or a cut.
                } finally {
                    close();
                }
            }, "relay-link");
            pump.setDaemon(true);
            pump.start();
        }

        void close() {
            try {
                from.close();
                to.close();
            } catch (IOException e) {
                // Already closed.
            }
            links.remove(this);
        }
    }
}
