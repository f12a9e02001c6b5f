package io.vmrdma.xen.sim.internal.abi;

import java.io.IOException;
import java.nio.file.Path;

import com.sun.jna.Pointer;

/**
 * A shared-memory file of whole 4096-byte pages, mapped once as a whole. Pages that must appear side by side
 * although they are scattered in the file (a grant map of scattered frames) get their own small mapping of the
 * same file through {@link #mapFrames}, so the common case costs no mapping at all and the rare case one
 * mapping per run of adjacent frames: {@code vm.max_map_count} (65530) would not survive a mapping per page.
 */
public final class PageFile implements AutoCloseable {

    public static final int PAGE = 4096;

    private Path path;
    private int fd;
    private final long pages;
    private final boolean writable;
    private final MappedRegion whole;
    private boolean closed;

    private PageFile(Path path, int fd, long pages, boolean writable, MappedRegion whole) {
        this.path = path;
        this.fd = fd;
        this.pages = pages;
        this.writable = writable;
        this.whole = whole;
    }

    /** Opens and maps {@code path}, which must be {@code pages} pages long. */
    public static PageFile open(Path path, long pages, boolean writable) throws IOException {
        int fd = LibC.open(path.toString(), (writable ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new IOException("open " + path + ": errno " + LibC.errno());
        }
        long length = pages * PAGE;
        int prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
        Pointer p = LibC.mmap(null, length, prot, LibC.MAP_SHARED, fd, 0);
        if (Pointer.nativeValue(p) == LibC.MAP_FAILED) {
            int errno = LibC.errno();
            LibC.close(fd);
            throw new IOException("mmap " + path + ": errno " + errno);
        }
        return new PageFile(path, fd, pages, writable, new MappedRegion(Pointer.nativeValue(p), length));
    }

    /**
     * Maps {@code other}, a file of the same size, over this mapping in place: every buffer handed out so far sees the
     * other file's pages at the same addresses from now on. What a guest's memory does when the domain moves to
     * another host and its kernel resumes there.
     */
    public synchronized void remap(Path other) throws IOException {
        int next = LibC.open(other.toString(), (writable ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC);
        if (next < 0) {
            throw new IOException("open " + other + ": errno " + LibC.errno());
        }
        int prot = LibC.PROT_READ | (writable ? LibC.PROT_WRITE : 0);
        // MAP_FIXED replaces exactly our own mapping of the old file.
        Pointer p = LibC.mmap(new Pointer(whole.address()), whole.length(), prot, LibC.MAP_SHARED | LibC.MAP_FIXED,
                next, 0);
        if (Pointer.nativeValue(p) != whole.address()) {
            int errno = LibC.errno();
            LibC.close(next);
            throw new IOException("mmap " + other + " over " + path + ": errno " + errno);
        }
        LibC.close(fd);
        fd = next;
        path = other;
    }

    public synchronized Path path() {
        return path;
    }

    public long pages() {
        return pages;
    }

    /** The whole file, mapped once. */
    public MappedRegion whole() {
        return whole;
    }

    /**
     * Maps the given frames next to each other in a fresh range, one mmap per run of adjacent frames; the caller
     * closes the returned region. Frames must be in range (the caller checked them).
     */
    public MappedRegion mapFrames(int[] frames, boolean writable) throws IOException {
        long length = (long) frames.length * PAGE;
        Pointer base = LibC.mmap(null, length, LibC.PROT_NONE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        long address = Pointer.nativeValue(base);
        if (address == LibC.MAP_FAILED) {
            throw new IOException("mmap reserve of " + frames.length + " pages: errno " + LibC.errno());
        }
        MappedRegion region = new MappedRegion(address, length);
        int prot = LibC.PROT_READ | (writable && this.writable ? LibC.PROT_WRITE : 0);
        int i = 0;
        while (i < frames.length) {
            int run = 1;
            while (i + run < frames.length && frames[i + run] == frames[i] + run) {
                run++;
            }
            // MAP_FIXED replaces exactly our own reservation, never someone else's mapping.
            Pointer p = LibC.mmap(new Pointer(address + (long) i * PAGE), (long) run * PAGE, prot,
                    LibC.MAP_SHARED | LibC.MAP_FIXED, fd, (long) frames[i] * PAGE);
            if (Pointer.nativeValue(p) == LibC.MAP_FAILED) {
                int errno = LibC.errno();
                region.close();
                throw new IOException("mmap of frame " + frames[i] + ": errno " + errno);
            }
            i += run;
        }
        return region;
    }

    /** Unmaps the file and closes it; buffers over it must not be touched afterwards. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            whole.close();
            LibC.close(fd);
        }
    }
}
