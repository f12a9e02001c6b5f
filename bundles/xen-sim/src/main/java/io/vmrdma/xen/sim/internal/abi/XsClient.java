package io.vmrdma.xen.sim.internal.abi;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStorePermission;

/**
 * {@link XenStore} as libxenstore implements it: every call is one wire request and its reply, watch events
 * queue up until read. The transport is a Unix socket for guests and a direct call for dom0, so both speak the
 * same bytes to the same xenstored.
 */
public final class XsClient implements XenStore {

    /** Carries requests to xenstored. */
    public interface Transport extends AutoCloseable {
        /** Sends one request and returns its reply; never a WATCH_EVENT (those go to the client's queue). */
        Reply call(int type, int tx, byte[] payload) throws XenException;

        @Override
        void close();
    }

    /** A reply: its type ({@link XsWire#ERROR} for an error) and payload. */
    public record Reply(int type, byte[] payload) {
    }

    /** Opens a transport that hands watch events to the given client. */
    public interface Opener {
        Transport open(XsClient client) throws XenException;
    }

    private final LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
    /** The watches this connection holds, path and token: what a resume registers again. */
    private final java.util.Set<List<String>> watches = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile Transport transport;
    /** Made by the first {@link #watchFd} call, as libxenstore makes its pipe: most clients never sleep on one. */
    private volatile WatchSignal signal;
    private boolean closed;

    public XsClient(Opener opener) throws XenException {
        this.transport = opener.open(this);
    }

    /**
     * Connects again through {@code opener} and registers every watch again, as libxenstore's users do after a resume
     * (each fires at once, so a watcher re-reads what it watches). For a guest that moved to another host.
     */
    public void reopen(Opener opener) throws XenException {
        Transport old = transport;
        transport = opener.open(this);
        old.close();
        for (List<String> w : watches) {
            call("xs_watch", XsWire.WATCH, NO_TRANSACTION, XsWire.strings(w.get(0), w.get(1)));
        }
    }

    /** Called by the transport for each WATCH_EVENT (payload {@code path\0token\0}). */
    public void onWatchEvent(byte[] payload) {
        List<String> parts = XsWire.split(payload, 0, payload.length);
        if (parts.size() >= 2) {
            events.add(new WatchEvent(parts.get(0), parts.get(1)));
            WatchSignal s = signal;
            if (s != null) {
                s.raise();
            }
        }
    }

    @Override
    public byte[] read(int tx, String path) throws XenException {
        return call("xs_read", XsWire.READ, tx, XsWire.strings(path));
    }

    @Override
    public void write(int tx, String path, byte[] value) throws XenException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[p.length + 1 + value.length];
        System.arraycopy(p, 0, payload, 0, p.length);
        System.arraycopy(value, 0, payload, p.length + 1, value.length);
        call("xs_write", XsWire.WRITE, tx, payload);
    }

    @Override
    public void mkdir(int tx, String path) throws XenException {
        call("xs_mkdir", XsWire.MKDIR, tx, XsWire.strings(path));
    }

    @Override
    public void rm(int tx, String path) throws XenException {
        call("xs_rm", XsWire.RM, tx, XsWire.strings(path));
    }

    @Override
    public List<String> directory(int tx, String path) throws XenException {
        Reply reply = transport.call(XsWire.DIRECTORY, tx, XsWire.strings(path));
        if (reply.type() == XsWire.ERROR && errnoOf(reply) == XenErrno.E2BIG) {
            return directoryInParts(tx, path);
        }
        byte[] names = check("xs_directory", reply, path);
        return XsWire.split(names, 0, names.length);
    }

    /** The DIRECTORY_PART loop libxenstore falls back to when a listing is over 4096 bytes. */
    private List<String> directoryInParts(int tx, String path) throws XenException {
        while (true) {
            List<String> names = new ArrayList<>();
            String generation = null;
            int offset = 0;
            while (true) {
                byte[] part = call("xs_directory", XsWire.DIRECTORY_PART, tx,
                        XsWire.strings(path, Integer.toString(offset)));
                List<String> fields = XsWire.split(part, 0, part.length);
                if (fields.isEmpty()) {
                    throw new XenException("xs_directory", XenErrno.EIO, "empty DIRECTORY_PART reply");
                }
                if (generation == null) {
                    generation = fields.get(0);
                } else if (!generation.equals(fields.get(0))) {
                    break; // changed meanwhile: start again
                }
                boolean last = part.length >= 2 && part[part.length - 1] == 0 && part[part.length - 2] == 0;
                for (int i = 1; i < fields.size(); i++) {
                    if (!fields.get(i).isEmpty()) {
                        names.add(fields.get(i));
                        offset += fields.get(i).getBytes(StandardCharsets.UTF_8).length + 1;
                    }
                }
                if (last) {
                    return names;
                }
            }
        }
    }

    @Override
    public List<XenStorePermission> getPermissions(int tx, String path) throws XenException {
        byte[] payload = call("xs_get_permissions", XsWire.GET_PERMS, tx, XsWire.strings(path));
        List<XenStorePermission> perms = new ArrayList<>();
        for (String p : XsWire.split(payload, 0, payload.length)) {
            try {
                perms.add(new XenStorePermission(Integer.parseInt(p.substring(1)),
                        XenStorePermission.Access.ofLetter(p.charAt(0))));
            } catch (RuntimeException e) {
                throw new XenException("xs_get_permissions", XenErrno.EIO, "bad permission '" + p + "'");
            }
        }
        return perms;
    }

    @Override
    public void setPermissions(int tx, String path, List<XenStorePermission> permissions) throws XenException {
        String[] parts = new String[permissions.size() + 1];
        parts[0] = path;
        for (int i = 0; i < permissions.size(); i++) {
            parts[i + 1] = permissions.get(i).toString();
        }
        call("xs_set_permissions", XsWire.SET_PERMS, tx, XsWire.strings(parts));
    }

    @Override
    public int transactionStart() throws XenException {
        byte[] id = call("xs_transaction_start", XsWire.TRANSACTION_START, NO_TRANSACTION, new byte[1]);
        List<String> parts = XsWire.split(id, 0, id.length);
        try {
            return Integer.parseUnsignedInt(parts.get(0));
        } catch (RuntimeException e) {
            throw new XenException("xs_transaction_start", XenErrno.EIO, "bad transaction id");
        }
    }

    @Override
    public boolean transactionEnd(int tx, boolean abort) throws XenException {
        Reply reply = transport.call(XsWire.TRANSACTION_END, tx, XsWire.strings(abort ? "F" : "T"));
        if (reply.type() == XsWire.ERROR && errnoOf(reply) == XenErrno.EAGAIN) {
            return false;
        }
        check("xs_transaction_end", reply, "transaction " + tx);
        return true;
    }

    @Override
    public void watch(String path, String token) throws XenException {
        call("xs_watch", XsWire.WATCH, NO_TRANSACTION, XsWire.strings(path, token));
        watches.add(List.of(path, token));
    }

    @Override
    public void unwatch(String path, String token) throws XenException {
        watches.remove(List.of(path, token));
        call("xs_unwatch", XsWire.UNWATCH, NO_TRANSACTION, XsWire.strings(path, token));
    }

    @Override
    public WatchEvent readWatch(long timeoutNanos) throws XenException {
        try {
            WatchEvent event = timeoutNanos <= 0 ? events.poll() : events.poll(timeoutNanos, TimeUnit.NANOSECONDS);
            WatchSignal s = signal;
            if (event == null && s != null) {
                s.lower();
                event = events.poll();
            }
            return event;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new XenException("xs_read_watch", 4, "interrupted");
        }
    }

    @Override
    public int watchFd() {
        WatchSignal s = signal;
        return s != null ? s.fd() : makeWatchFd();
    }

    private synchronized int makeWatchFd() {
        if (signal == null && !closed) {
            try {
                signal = WatchSignal.open();
            } catch (XenException e) {
                return -1; // no descriptor to sleep on: the caller looks in short steps
            }
            if (!events.isEmpty()) {
                signal.raise();
            }
        }
        return signal == null ? -1 : signal.fd();
    }

    @Override
    public void close() {
        transport.close();
        synchronized (this) {
            closed = true;
            if (signal != null) {
                signal.close();
            }
        }
    }

    private byte[] call(String operation, int type, int tx, byte[] payload) throws XenException {
        return check(operation, transport.call(type, tx, payload), null);
    }

    private static byte[] check(String operation, Reply reply, String detail) throws XenException {
        if (reply.type() == XsWire.ERROR) {
            throw new XenException(operation, errnoOf(reply), detail);
        }
        return reply.payload();
    }

    private static int errnoOf(Reply reply) {
        List<String> parts = XsWire.split(reply.payload(), 0, reply.payload().length);
        return XsWire.errnoOf(parts.isEmpty() ? "" : parts.get(0));
    }
}
