package io.vmrdma.api.xen;

/** A Xen library call failed; {@link #errno()} is what the C library left in errno. */
public class XenException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String operation;
    private final int errno;

    /**
     * @param operation the call that failed, in the C library's vocabulary ({@code "xengnttab_map_grant_refs"})
     * @param errno     the errno it reported
     * @param detail    what was being attempted, for people
     */
    public XenException(String operation, int errno, String detail) {
        super(operation + ": " + XenErrno.name(errno) + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.operation = operation;
        this.errno = errno;
    }

    /** The failed call. */
    public String operation() {
        return operation;
    }

    /** The errno value, see {@link XenErrno}. */
    public int errno() {
        return errno;
    }
}
