package io.vmrdma.api.verbs;

/** The errno values a refused verb reports through {@link VerbsException#errno()}, as libibverbs returns them. */
public final class VerbsErrno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ENOMEM = 12;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    /** A per-domain limit (quota) was reached. */
    public static final int EDQUOT = 122;

    private VerbsErrno() {
    }
}
