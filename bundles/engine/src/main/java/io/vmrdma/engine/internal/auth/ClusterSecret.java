package io.vmrdma.engine.internal.auth;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Set;

/**
 * The secret every node of a cluster shares, from which the keys that authenticate frames are derived: a file of at
 * least {@link #MIN_BYTES} random bytes that only its owner (root in dom0) may read. The first node to start makes
 * one; the operator copies it to every other dom0 (docs/operations.md).
 */
public final class ClusterSecret {

    /** The file's name in Karaf's {@code etc/}. */
    public static final String FILE_NAME = "io.vmrdma.cluster.secret";
    /** 256 bits: as strong as the HMAC-SHA256 keys made from it. */
    public static final int MIN_BYTES = 32;

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OTHERS = Set.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

    private ClusterSecret() {
    }

    /**
     * The secret in {@code file}, made there (32 bytes from SecureRandom, mode 0600 from the moment it exists) when
     * there is none.
     *
     * @throws IllegalStateException naming the file and what to do, when it cannot be made or read, when group or
     *                               others may read or write it, or when it is shorter than {@link #MIN_BYTES}
     */
    public static byte[] loadOrCreate(Path file) {
        try {
            create(file);
        } catch (FileAlreadyExistsException e) {
            // The usual case after the first start: read below.
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalStateException("cannot create the cluster secret " + file + ": " + e.getMessage(), e);
        }
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            if (permissions.stream().anyMatch(OTHERS::contains)) {
                throw new IllegalStateException("the cluster secret " + file + " is open to group or others ("
                        + PosixFilePermissions.toString(permissions) + "): run chmod 600 " + file
                        + ", and consider it disclosed: make a new one for every node (docs/operations.md)");
            }
            byte[] secret = Files.readAllBytes(file);
            if (secret.length < MIN_BYTES) {
                throw new IllegalStateException("the cluster secret " + file + " has " + secret.length
                        + " bytes, at least " + MIN_BYTES + " random bytes are needed: head -c 32 /dev/urandom > "
                        + file);
            }
            return secret;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the cluster secret " + file + ": " + e.getMessage(), e);
        }
    }

    private static void create(Path file) throws IOException {
        byte[] secret = new byte[MIN_BYTES];
        new SecureRandom().nextBytes(secret);
        // Created with its final permissions, so it is never readable by others, not even for a moment.
        Path created = Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        Files.write(created, secret);
    }
}
