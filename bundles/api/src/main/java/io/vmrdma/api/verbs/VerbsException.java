package io.vmrdma.api.verbs;

/**
 * A verb was refused before any work started (a post to a full queue, a modify to an illegal state, a limit
 * reached), as the libibverbs calls that return an errno. {@link #errno()} is that errno.
 */
public class VerbsException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int errno;

    public VerbsException(int errno, String message) {
        super(message);
        this.errno = errno;
    }

    /** The errno libibverbs would return: EINVAL, ENOMEM, EPERM, EDQUOT ... */
    public int errno() {
        return errno;
    }
}
