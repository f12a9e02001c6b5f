package io.vmrdma.xen.sim.internal.abi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.xen.GrantCopyBatch;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.GrantStatus;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * A guest's {@code xengnttab} handle: the simulator checks and pins the grants (OP_GNTTAB_MAP), then the guest
 * maps the granter's frames from its memory file; unmapping reverses both. Grant copy is a map, a copy and an
 * unmap per segment, with the map's status as the segment's.
 */
public final class GuestGrantMapper implements GrantMapper {

    private static final String MAP = "xengnttab_map_domain_grant_refs";

    private final HypercallChannel channel;
    private final Path domainsDir;
    private final Map<Integer, PageFile> granters = new HashMap<>();
    private final List<Mapping> mappings = new ArrayList<>();

    public GuestGrantMapper(HypercallChannel channel, Path domainsDir) {
        this.channel = channel;
        this.domainsDir = domainsDir;
    }

    @Override
    public synchronized GrantMapping mapDomainGrantRefs(int domid, int[] refs, boolean writable)
            throws XenException {
        if (refs.length == 0 || refs.length > SimAbi.MAX_MAP_REFS) {
            throw new XenException(MAP, XenErrno.EINVAL, refs.length + " refs");
        }
        ByteBuffer body = pin(domid, refs, writable);
        if (body.getInt(0) < 0) {
            throw new XenException(MAP, -body.getInt(0), "status " + body.getInt(4) + " mapping from domain " + domid);
        }
        int handle = body.getInt(0);
        int[] frames = new int[refs.length];
        for (int i = 0; i < refs.length; i++) {
            frames[i] = body.getInt(8 + 4 * i);
        }
        try {
            PageFile memory = granter(domid);
            boolean contiguous = true;
            for (int i = 1; i < frames.length; i++) {
                contiguous &= frames[i] == frames[0] + i;
            }
            MappedRegion own = contiguous ? null : memory.mapFrames(frames, writable);
            ByteBuffer buffer = contiguous
                    ? memory.whole().buffer((long) frames[0] * PageFile.PAGE, refs.length * PageFile.PAGE)
                    : own.buffer(0, refs.length * PageFile.PAGE);
            if (!writable) {
                buffer = buffer.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
            }
            Mapping m = new Mapping(domid, handle, refs.length, writable, buffer, own);
            mappings.add(m);
            return m;
        } catch (IOException e) {
            unpin(handle);
            throw new XenException(MAP, XenErrno.ENOMEM, e.getMessage());
        }
    }

    private ByteBuffer pin(int domid, int[] refs, boolean writable) throws XenException {
        ByteBuffer req = ByteBuffer.allocate(12 + 4 * refs.length).order(ByteOrder.LITTLE_ENDIAN);
        req.putInt(domid).putInt(writable ? 1 : 0).putInt(refs.length);
        for (int r : refs) {
            req.putInt(r);
        }
        return channel.callRaw(MAP, SimAbi.OP_GNTTAB_MAP, req.flip());
    }

    private void unpin(int handle) throws XenException {
        ByteBuffer req = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, handle);
        channel.call("xengnttab_unmap", SimAbi.OP_GNTTAB_UNMAP, req);
    }

    /** The granter's memory file, mapped once per handle. */
    private PageFile granter(int domid) throws IOException {
        PageFile f = granters.get(domid);
        if (f == null) {
            Path path = domainsDir.resolve(Integer.toString(domid)).resolve(SimAbi.FILE_MEMORY);
            f = PageFile.open(path, Files.size(path) / PageFile.PAGE, true);
            granters.put(domid, f);
        }
        return f;
    }

    @Override
    public void setMaxGrants(int count) {
        // Upstream Linux has no such limit (the ioctl is ENOTTY and the library reports success).
    }

    @Override
    public synchronized void grantCopy(GrantCopyBatch batch) throws XenException {
        for (int i = 0; i < batch.size(); i++) {
            int off = batch.pageOffset(i);
            int len = batch.length(i);
            ByteBuffer local = batch.local(i);
            if (off < 0 || len < 0 || off + len > PageFile.PAGE) {
                throw new XenException("xengnttab_grant_copy", XenErrno.EINVAL, "segment " + i);
            }
            if (local == null || batch.localOffset(i) < 0 || batch.localOffset(i) + len > local.capacity()
                    || !batch.toGuest(i) && local.isReadOnly()) {
                throw new XenException("xengnttab_grant_copy", XenErrno.EFAULT, "segment " + i + ": bad local buffer");
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            boolean toGranter = batch.toGuest(i);
            ByteBuffer body = pin(batch.domid(i), new int[] {batch.ref(i)}, toGranter);
            if (body.getInt(0) < 0) {
                batch.status(i, (short) body.getInt(4));
                continue;
            }
            int handle = body.getInt(0);
            try {
                ByteBuffer page = granter(batch.domid(i)).whole()
                        .buffer((long) body.getInt(8) * PageFile.PAGE, PageFile.PAGE);
                if (toGranter) {
                    page.put(batch.pageOffset(i), batch.local(i), batch.localOffset(i), batch.length(i));
                } else {
                    batch.local(i).put(batch.localOffset(i), page, batch.pageOffset(i), batch.length(i));
                }
                batch.status(i, GrantStatus.OKAY);
            } catch (IOException e) {
                batch.status(i, GrantStatus.GENERAL_ERROR);
            } finally {
                unpin(handle);
            }
        }
    }

    synchronized void unmap(Mapping m) throws XenException {
        if (mappings.remove(m)) {
            if (m.own != null) {
                m.own.close();
            }
            unpin(m.handle);
        }
    }

    @Override
    public synchronized void close() {
        for (Mapping m : new ArrayList<>(mappings)) {
            if (m.own != null) {
                m.own.close();
            }
        }
        mappings.clear();
        // Closing the connection unpins everything still mapped, as closing the gntdev fd does.
        channel.close();
        granters.values().forEach(PageFile::close);
        granters.clear();
    }

    private final class Mapping implements GrantMapping {
        private final int domid;
        private final int handle;
        private final int pages;
        private final boolean writable;
        private final ByteBuffer buffer;
        private final MappedRegion own;

        Mapping(int domid, int handle, int pages, boolean writable, ByteBuffer buffer, MappedRegion own) {
            this.domid = domid;
            this.handle = handle;
            this.pages = pages;
            this.writable = writable;
            this.buffer = buffer;
            this.own = own;
        }

        @Override
        public ByteBuffer buffer() {
            return buffer;
        }

        @Override
        public int domid() {
            return domid;
        }

        @Override
        public int pageCount() {
            return pages;
        }

        @Override
        public boolean writable() {
            return writable;
        }

        @Override
        public void close() throws XenException {
            unmap(this);
        }
    }
}
