package io.vmrdma.xen.sim.internal.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.xen.sim.internal.SimCounters;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.XsWire;

/**
 * The simulator's xenstored: one store, any number of connections, each acting as one domain. It takes wire
 * requests (already framed) and answers on the connection, as {@code xenstored_core.c} does: permissions
 * checked per request against the connection's domain, dom0 exempt; new nodes inherit their parent's
 * permissions and an unprivileged creator becomes the owner; watches fire once on registration and then on every
 * change to the watched node or below it (after commit, for transactions); transactions see a snapshot and fail
 * with EAGAIN at commit when a node they touched changed meanwhile; per-domain quotas as {@link XsLimits}.
 *
 * <p>One lock (this object) serialises everything, as xenstored's single thread does.
 */
public final class XenStored {

    /** Where replies and watch events go; {@code send} must not block (queue, or drop the peer). */
    public interface Connection {
        void send(int type, int reqId, int txId, byte[] payload);
    }

    static final int READ = 1;
    static final int WRITE = 2;
    private static final byte[] OK = XsWire.strings("OK");
    private static final String INTRODUCE_DOMAIN = "@introduceDomain";
    private static final String RELEASE_DOMAIN = "@releaseDomain";

    private final XsLimits limits;
    private final SimCounters counters;
    private final HashMap<String, Node> nodes = new HashMap<>();
    private final Map<Integer, Integer> owned = new HashMap<>();
    private final Map<Connection, Conn> connections = new LinkedHashMap<>();
    private long generation;
    private int nextTxId = 1;

    public XenStored(XsLimits limits, SimCounters counters) {
        this.limits = limits;
        this.counters = counters;
        int[] dom0Only = {perm(0, 0)};
        nodes.put("/", new Node(new byte[0], dom0Only, List.of("local"), ++generation));
        nodes.put("/local", new Node(new byte[0], dom0Only, List.of("domain"), ++generation));
        nodes.put("/local/domain", new Node(new byte[0], dom0Only, List.of(), ++generation));
    }

    /** Registers a connection acting as {@code domid}. */
    public synchronized void connect(Connection connection, int domid) {
        connections.put(connection, new Conn(connection, domid));
    }

    /** Forgets a connection: its watches go, its open transactions are discarded. */
    public synchronized void disconnect(Connection connection) {
        connections.remove(connection);
    }

    /** Announces a new domain to {@code @introduceDomain} watchers, as the toolstack's INTRODUCE does. */
    public synchronized void introduceDomain() {
        fireSpecial(INTRODUCE_DOMAIN);
    }

    /**
     * Announces a dead domain to {@code @releaseDomain} watchers and drops its connections' state; its nodes
     * stop counting against it (xenstored hands them to dom0).
     */
    public synchronized void releaseDomain(int domid) {
        connections.values().removeIf(c -> c.domid == domid);
        owned.remove(domid);
        fireSpecial(RELEASE_DOMAIN);
    }

    /** Handles one request from {@code connection}; the reply (and any watch events) go out through it. */
    public synchronized void handle(Connection connection, int type, int reqId, int txId, byte[] payload) {
        Conn conn = connections.get(connection);
        if (conn == null) {
            return;
        }
        List<Change> changes = new ArrayList<>();
        byte[] reply;
        try {
            reply = dispatch(conn, type, txId, payload, changes);
        } catch (XsError e) {
            if (e.counter != null) {
                counters.increment(e.counter);
            }
            connection.send(XsWire.ERROR, reqId, txId, XsWire.strings(XsWire.errorName(e.errno)));
            return;
        }
        connection.send(type, reqId, txId, reply);
        if (type == XsWire.WATCH) {
            List<String> args = XsWire.split(payload, 0, payload.length);
            connection.send(XsWire.WATCH_EVENT, 0, 0, XsWire.strings(args.get(0), args.get(1)));
        }
        fire(changes);
    }

    /** A request's reply payload, or an XsError. Changes made outside a transaction are added to {@code changes}. */
    private byte[] dispatch(Conn conn, int type, int txId, byte[] payload, List<Change> changes) throws XsError {
        Tx tx = null;
        if (txId != 0 && type != XsWire.WATCH && type != XsWire.UNWATCH) {
            tx = conn.transactions.get(txId);
            if (tx == null) {
                throw new XsError(XenErrno.ENOENT, Counter.XS_MALFORMED);
            }
        }
        View view = tx != null ? tx : new MainView(changes);
        switch (type) {
            case XsWire.READ: {
                Node n = readable(conn, view, path(conn, onlyArg(payload)));
                return n.value;
            }
            case XsWire.WRITE: {
                int nul = indexOfNul(payload);
                if (nul < 0) {
                    throw malformed();
                }
                String path = path(conn, new String(payload, 0, nul, StandardCharsets.UTF_8));
                byte[] value = java.util.Arrays.copyOfRange(payload, nul + 1, payload.length);
                write(conn, view, path, value);
                return OK;
            }
            case XsWire.MKDIR: {
                String path = path(conn, onlyArg(payload));
                Node n = view.get(path);
                if (n != null) {
                    requireAccess(conn, n, WRITE);
                    return OK;
                }
                create(conn, view, path);
                view.changed(new Change(path, false, view.get(path).perms));
                return OK;
            }
            case XsWire.RM:
                remove(conn, view, path(conn, onlyArg(payload)));
                return OK;
            case XsWire.DIRECTORY: {
                Node n = readable(conn, view, path(conn, onlyArg(payload)));
                byte[] names = XsWire.strings(n.children.toArray(new String[0]));
                if (names.length > XsWire.PAYLOAD_MAX) {
                    throw new XsError(XenErrno.E2BIG, Counter.XS_MALFORMED);
                }
                return names;
            }
            case XsWire.DIRECTORY_PART:
                return directoryPart(conn, view, payload);
            case XsWire.GET_PERMS: {
                Node n = readable(conn, view, path(conn, onlyArg(payload)));
                String[] perms = new String[n.perms.length];
                for (int i = 0; i < perms.length; i++) {
                    perms[i] = permString(n.perms[i]);
                }
                return XsWire.strings(perms);
            }
            case XsWire.SET_PERMS:
                setPerms(conn, view, payload);
                return OK;
            case XsWire.WATCH:
                watch(conn, payload);
                return OK;
            case XsWire.UNWATCH:
                unwatch(conn, payload);
                return OK;
            case XsWire.TRANSACTION_START:
                return transactionStart(conn, txId);
            case XsWire.TRANSACTION_END:
                transactionEnd(conn, tx, payload, changes);
                return OK;
            case XsWire.GET_DOMAIN_PATH:
                return XsWire.strings("/local/domain/" + domidArg(onlyArg(payload)));
            case XsWire.IS_DOMAIN_INTRODUCED:
                requireDom0(conn);
                return XsWire.strings(nodes.containsKey("/local/domain/" + domidArg(onlyArg(payload))) ? "T" : "F");
            case XsWire.RESET_WATCHES:
                requireDom0(conn);
                conn.watches.clear();
                conn.transactions.clear();
                return OK;
            case XsWire.CONTROL:
            case XsWire.INTRODUCE:
            case XsWire.RELEASE:
            case XsWire.RESUME:
            case XsWire.SET_TARGET:
                // The simulator's toolstack introduces and releases domains itself.
                requireDom0(conn);
                throw new XsError(XenErrno.ENOSYS, Counter.XS_MALFORMED);
            default :
                throw new XsError(XenErrno.ENOSYS, Counter.XS_MALFORMED);
        }
    }

    // ---- operations ----

    private void write(Conn conn, View view, String path, byte[] value) throws XsError {
        if (conn.domid != 0 && value.length > limits.maxNodeBytes()) {
            throw new XsError(XenErrno.ENOSPC, Counter.XS_QUOTA);
        }
        Node n = view.get(path);
        if (n == null) {
            create(conn, view, path);
            n = view.get(path);
        } else {
            requireAccess(conn, n, WRITE);
        }
        view.put(path, new Node(value, n.perms, n.children, ++generation), false);
    }

    /** Creates {@code path} and its missing ancestors, checking write access on the nearest existing one. */
    private void create(Conn conn, View view, String path) throws XsError {
        List<String> missing = new ArrayList<>();
        String p = path;
        Node ancestor;
        while ((ancestor = view.get(p)) == null) {
            missing.add(p);
            p = parent(p);
        }
        requireAccess(conn, ancestor, WRITE);
        if (conn.domid != 0) {
            int have = owned.getOrDefault(conn.domid, 0) + view.ownedDelta(conn.domid);
            if (have + missing.size() > limits.nodesPerDomain()) {
                throw new XsError(XenErrno.ENOSPC, Counter.XS_QUOTA);
            }
        }
        Node parentNode = ancestor;
        String parentPath = p;
        for (int i = missing.size() - 1; i >= 0; i--) {
            String child = missing.get(i);
            int[] perms = parentNode.perms.clone();
            if (conn.domid != 0) {
                perms[0] = perm(conn.domid, access(perms[0]));
            }
            List<String> siblings = new ArrayList<>(parentNode.children);
            siblings.add(basename(child));
            view.put(parentPath, new Node(parentNode.value, parentNode.perms, List.copyOf(siblings), ++generation),
                    true);
            Node created = new Node(new byte[0], perms, List.of(), ++generation);
            // Only the requested node fires (watchers of its ancestors see it there), as xenstored does.
            view.put(child, created, true);
            view.addOwned(owner(perms), 1);
            parentNode = created;
            parentPath = child;
        }
    }

    private void remove(Conn conn, View view, String path) throws XsError {
        if (path.equals("/")) {
            throw new XsError(XenErrno.EINVAL, Counter.XS_MALFORMED);
        }
        Node n = view.get(path);
        if (n == null) {
            // xenstored 4.17: removing a missing node succeeds when its parent exists.
            if (view.get(parent(path)) == null) {
                throw new XsError(XenErrno.ENOENT, null);
            }
            return;
        }
        requireAccess(conn, n, WRITE);
        String parentPath = parent(path);
        Node parentNode = view.get(parentPath);
        List<String> siblings = new ArrayList<>(parentNode.children);
        siblings.remove(basename(path));
        view.put(parentPath, new Node(parentNode.value, parentNode.perms, List.copyOf(siblings), ++generation), true);
        removeSubtree(view, path, n);
        view.changed(new Change(path, true, n.perms));
    }

    private void removeSubtree(View view, String path, Node n) {
        for (String child : n.children) {
            String childPath = path + "/" + child;
            Node c = view.get(childPath);
            if (c != null) {
                removeSubtree(view, childPath, c);
            }
        }
        view.addOwned(owner(n.perms), -1);
        view.removeSilently(path);
    }

    private byte[] directoryPart(Conn conn, View view, byte[] payload) throws XsError {
        List<String> args = args(payload, 2);
        Node n = readable(conn, view, path(conn, args.get(0)));
        int off;
        try {
            off = Integer.parseInt(args.get(1));
        } catch (NumberFormatException e) {
            throw malformed();
        }
        byte[] children = XsWire.strings(n.children.toArray(new String[0]));
        byte[] gen = XsWire.strings(Long.toString(n.generation));
        if (off < 0) {
            throw malformed();
        }
        if (off >= children.length) {
            byte[] out = java.util.Arrays.copyOf(gen, gen.length + 1);
            return out;
        }
        int max = XsWire.PAYLOAD_MAX - gen.length - 1;
        int len = 0;
        int at = off;
        while (at < children.length) {
            int end = at;
            while (children[end] != 0) {
                end++;
            }
            int item = end - at + 1;
            if (len + item > max) {
                break;
            }
            len += item;
            at = end + 1;
        }
        boolean last = off + len == children.length;
        byte[] out = new byte[gen.length + len + (last ? 1 : 0)];
        System.arraycopy(gen, 0, out, 0, gen.length);
        System.arraycopy(children, off, out, gen.length, len);
        return out;
    }

    private void setPerms(Conn conn, View view, byte[] payload) throws XsError {
        List<String> args = XsWire.split(payload, 0, payload.length);
        if (args.size() < 2 || payload[payload.length - 1] != 0) {
            throw malformed();
        }
        String path = path(conn, args.get(0));
        int[] perms = new int[args.size() - 1];
        for (int i = 1; i < args.size(); i++) {
            perms[i - 1] = parsePerm(args.get(i));
        }
        Node n = view.get(path);
        if (n == null) {
            throw new XsError(XenErrno.ENOENT, null);
        }
        requireAccess(conn, n, WRITE);
        if (conn.domid != 0) {
            if (owner(n.perms) != conn.domid) {
                throw new XsError(XenErrno.EPERM, Counter.XS_ACCESS_DENIED);
            }
            if (owner(perms) != conn.domid) {
                throw new XsError(XenErrno.EPERM, Counter.XS_ACCESS_DENIED);
            }
        }
        if (owner(perms) != owner(n.perms)) {
            view.addOwned(owner(n.perms), -1);
            view.addOwned(owner(perms), 1);
        }
        view.put(path, new Node(n.value, perms, n.children, ++generation), false);
    }

    private void watch(Conn conn, byte[] payload) throws XsError {
        List<String> args = args(payload, 2);
        String given = args.get(0);
        String path = watchPath(conn, given);
        for (Watch w : conn.watches) {
            if (w.path.equals(path) && w.token.equals(args.get(1))) {
                throw new XsError(XenErrno.EEXIST, null);
            }
        }
        if (conn.domid != 0 && conn.watches.size() >= limits.watchesPerConnection()) {
            throw new XsError(XenErrno.E2BIG, Counter.XS_QUOTA);
        }
        conn.watches.add(new Watch(path, args.get(1), !given.startsWith("/") && !given.startsWith("@")));
    }

    private void unwatch(Conn conn, byte[] payload) throws XsError {
        List<String> args = args(payload, 2);
        String path = watchPath(conn, args.get(0));
        for (Iterator<Watch> it = conn.watches.iterator(); it.hasNext();) {
            Watch w = it.next();
            if (w.path.equals(path) && w.token.equals(args.get(1))) {
                it.remove();
                return;
            }
        }
        throw new XsError(XenErrno.ENOENT, null);
    }

    private byte[] transactionStart(Conn conn, int txId) throws XsError {
        if (txId != 0) {
            throw new XsError(XenErrno.EBUSY, Counter.XS_MALFORMED);
        }
        if (conn.domid != 0 && conn.transactions.size() >= limits.transactionsPerConnection()) {
            throw new XsError(XenErrno.ENOSPC, Counter.XS_QUOTA);
        }
        int id;
        do {
            id = nextTxId++;
        } while (id == 0 || conn.transactions.containsKey(id));
        conn.transactions.put(id, new Tx(new HashMap<>(nodes)));
        return XsWire.strings(Integer.toUnsignedString(id));
    }

    private void transactionEnd(Conn conn, Tx tx, byte[] payload, List<Change> changes) throws XsError {
        if (tx == null) {
            throw new XsError(XenErrno.ENOENT, Counter.XS_MALFORMED);
        }
        String arg = onlyArg(payload);
        if (!arg.equals("T") && !arg.equals("F")) {
            throw malformed();
        }
        conn.transactions.values().remove(tx);
        if (arg.equals("F")) {
            return;
        }
        for (Map.Entry<String, Node> e : tx.original.entrySet()) {
            Node now = nodes.get(e.getKey());
            if (now != (e.getValue() == Tx.ABSENT ? null : e.getValue())) {
                throw new XsError(XenErrno.EAGAIN, null);
            }
        }
        for (String path : tx.written) {
            Node n = tx.nodes.get(path);
            if (n == null) {
                nodes.remove(path);
            } else {
                nodes.put(path, n);
            }
        }
        tx.ownedDelta.forEach((domid, delta) -> owned.merge(domid, delta, Integer::sum));
        changes.addAll(tx.changes);
    }

    // ---- watches ----

    private void fire(List<Change> changes) {
        for (Change change : changes) {
            for (Conn conn : connections.values()) {
                if (conn.domid != 0 && ((canAccess(conn.domid, change.perms) & READ) == 0)) {
                    continue;
                }
                for (Watch w : conn.watches) {
                    String eventPath = null;
                    if (isAtOrBelow(change.path, w.path)) {
                        eventPath = change.path;
                    } else if (change.recursive && isAtOrBelow(w.path, change.path)) {
                        eventPath = w.path;
                    }
                    if (eventPath != null) {
                        conn.connection.send(XsWire.WATCH_EVENT, 0, 0,
                                XsWire.strings(w.relative ? relative(conn.domid, eventPath) : eventPath, w.token));
                    }
                }
            }
        }
    }

    private void fireSpecial(String special) {
        for (Conn conn : connections.values()) {
            for (Watch w : conn.watches) {
                if (w.path.equals(special)) {
                    conn.connection.send(XsWire.WATCH_EVENT, 0, 0, XsWire.strings(special, w.token));
                }
            }
        }
    }

    private static boolean isAtOrBelow(String path, String ancestor) {
        if (ancestor.equals("/")) {
            return path.startsWith("/");
        }
        return path.equals(ancestor) || path.startsWith(ancestor) && path.charAt(ancestor.length()) == '/';
    }

    private static String relative(int domid, String path) {
        String home = "/local/domain/" + domid + "/";
        return path.startsWith(home) ? path.substring(home.length()) : path;
    }

    // ---- paths and permissions ----

    /** The absolute form of a request path; relative paths are relative to the connection's domain home. */
    private static String path(Conn conn, String given) throws XsError {
        boolean relative = !given.startsWith("/");
        if (given.isEmpty() || given.length() > (relative ? XsWire.REL_PATH_MAX : XsWire.ABS_PATH_MAX)) {
            throw malformed();
        }
        String abs = relative ? "/local/domain/" + conn.domid + "/" + given : given;
        if (abs.length() > XsWire.ABS_PATH_MAX || !validPath(abs)) {
            throw malformed();
        }
        return abs;
    }

    private static String watchPath(Conn conn, String given) throws XsError {
        if (given.startsWith("@")) {
            if (!given.equals(INTRODUCE_DOMAIN) && !given.equals(RELEASE_DOMAIN)) {
                throw malformed();
            }
            requireDom0(conn);
            return given;
        }
        return path(conn, given);
    }

    private static boolean validPath(String p) {
        if (!p.startsWith("/") || p.contains("//") || p.length() > 1 && p.endsWith("/")) {
            return false;
        }
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '-' || c == '/' || c == '_' || c == '@';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private Node readable(Conn conn, View view, String path) throws XsError {
        Node n = view.get(path);
        if (n == null) {
            throw new XsError(XenErrno.ENOENT, null);
        }
        requireAccess(conn, n, READ);
        return n;
    }

    private static void requireAccess(Conn conn, Node n, int access) throws XsError {
        if ((canAccess(conn.domid, n.perms) & access) != access) {
            throw new XsError(XenErrno.EACCES, Counter.XS_ACCESS_DENIED);
        }
    }

    private static void requireDom0(Conn conn) throws XsError {
        if (conn.domid != 0) {
            throw new XsError(XenErrno.EACCES, Counter.XS_ACCESS_DENIED);
        }
    }

    /** The access bits a domain has on a node, as xenstored's {@code perm_for_conn}. */
    static int canAccess(int domid, int[] perms) {
        if (domid == 0 || owner(perms) == domid) {
            return READ | WRITE;
        }
        for (int i = 1; i < perms.length; i++) {
            if (perms[i] >>> 8 == domid) {
                return access(perms[i]);
            }
        }
        return access(perms[0]);
    }

    static int perm(int domid, int access) {
        return domid << 8 | access;
    }

    static int owner(int[] perms) {
        return perms[0] >>> 8;
    }

    static int access(int perm) {
        return perm & 3;
    }

    private static String permString(int perm) {
        char letter = switch (access(perm)) {
            case READ -> 'r';
            case WRITE -> 'w';
            case READ | WRITE -> 'b';
            default -> 'n';
        };
        return letter + Integer.toString(perm >>> 8);
    }

    private static int parsePerm(String s) throws XsError {
        if (s.length() < 2) {
            throw malformed();
        }
        int access = switch (s.charAt(0)) {
            case 'n' -> 0;
            case 'r' -> READ;
            case 'w' -> WRITE;
            case 'b' -> READ | WRITE;
            default -> throw malformed();
        };
        return perm(domidArg(s.substring(1)), access);
    }

    private static int domidArg(String s) throws XsError {
        try {
            int d = Integer.parseInt(s);
            if (d < 0 || d > 0xFFFF) {
                throw malformed();
            }
            return d;
        } catch (NumberFormatException e) {
            throw malformed();
        }
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash == 0 ? "/" : path.substring(0, slash);
    }

    private static String basename(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** The single NUL-terminated argument of a request. */
    private static String onlyArg(byte[] payload) throws XsError {
        return args(payload, 1).get(0);
    }

    /** Exactly {@code n} NUL-terminated strings, as xenstored's {@code get_strings} with a NUL at the end. */
    private static List<String> args(byte[] payload, int n) throws XsError {
        if (payload.length == 0 || payload[payload.length - 1] != 0) {
            throw malformed();
        }
        List<String> parts = XsWire.split(payload, 0, payload.length);
        if (parts.size() != n) {
            throw malformed();
        }
        return parts;
    }

    private static int indexOfNul(byte[] payload) {
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static XsError malformed() {
        return new XsError(XenErrno.EINVAL, Counter.XS_MALFORMED);
    }

    // ---- state ----

    /** A node: immutable, so a transaction's snapshot is a shallow copy of the map and identity means unchanged. */
    private record Node(byte[] value, int[] perms, List<String> children, long generation) {
    }

    /** A change to fire watches for: the path, whether a subtree went, and the node's permissions. */
    private record Change(String path, boolean recursive, int[] perms) {
    }

    private record Watch(String path, String token, boolean relative) {
    }

    private static final class Conn {
        final Connection connection;
        final int domid;
        final List<Watch> watches = new ArrayList<>();
        final Map<Integer, Tx> transactions = new HashMap<>();

        Conn(Connection connection, int domid) {
            this.connection = connection;
            this.domid = domid;
        }
    }

    /** Where an operation reads and writes: the store itself, or a transaction's snapshot. */
    private interface View {
        Node get(String path);

        /** Stores a node; {@code structural} changes (a parent's child list) fire no watch of their own. */
        void put(String path, Node node, boolean structural);

        void removeSilently(String path);

        void changed(Change change);

        void addOwned(int domid, int delta);

        int ownedDelta(int domid);
    }

    private final class MainView implements View {
        private final List<Change> changes;

        MainView(List<Change> changes) {
            this.changes = changes;
        }

        @Override
        public Node get(String path) {
            return nodes.get(path);
        }

        @Override
        public void put(String path, Node node, boolean structural) {
            nodes.put(path, node);
            if (!structural) {
                changes.add(new Change(path, false, node.perms));
            }
        }

        @Override
        public void removeSilently(String path) {
            nodes.remove(path);
        }

        @Override
        public void changed(Change change) {
            changes.add(change);
        }

        @Override
        public void addOwned(int domid, int delta) {
            owned.merge(domid, delta, Integer::sum);
        }

        @Override
        public int ownedDelta(int domid) {
            return 0;
        }
    }

    /** A transaction: a snapshot, what it first saw of every node it touched, and what it wrote. */
    private static final class Tx implements View {
        static final Node ABSENT = new Node(new byte[0], new int[] {0}, List.of(), 0);

        final HashMap<String, Node> nodes;
        final Map<String, Node> original = new HashMap<>();
        final java.util.Set<String> written = new java.util.LinkedHashSet<>();
        final Map<Integer, Integer> ownedDelta = new HashMap<>();
        final List<Change> changes = new ArrayList<>();

        Tx(HashMap<String, Node> snapshot) {
            this.nodes = snapshot;
        }

        @Override
        public Node get(String path) {
            Node n = nodes.get(path);
            original.putIfAbsent(path, n == null ? ABSENT : n);
            return n;
        }

        @Override
        public void put(String path, Node node, boolean structural) {
            get(path);
            nodes.put(path, node);
            written.add(path);
            if (!structural) {
                changes.add(new Change(path, false, node.perms));
            }
        }

        @Override
        public void removeSilently(String path) {
            get(path);
            nodes.remove(path);
            written.add(path);
        }

        @Override
        public void changed(Change change) {
            changes.add(change);
        }

        @Override
        public void addOwned(int domid, int delta) {
            ownedDelta.merge(domid, delta, Integer::sum);
        }

        @Override
        public int ownedDelta(int domid) {
            return ownedDelta.getOrDefault(domid, 0);
        }
    }

    /** A request failed with a XenStore error. */
    private static final class XsError extends Exception {
        private static final long serialVersionUID = 1L;
        final int errno;
        final transient Counter counter;

        XsError(int errno, Counter counter) {
            super(null, null, false, false);
            this.errno = errno;
            this.counter = counter;
        }
    }
}
