package io.vmrdma.cluster.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** A small text file of this node's cluster state (member key, node id, versions agreed), written whole or not at all. */
final class StateFile {

    private StateFile() {
    }

    /** The file's text, trimmed; empty when there is no file. */
    static String read(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.US_ASCII).trim() : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces the file with {@code text}: a crash mid-write leaves the previous file. */
    static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Path next = file.resolveSibling(file.getFileName() + ".next");
            Files.writeString(next, text + "\n", StandardCharsets.US_ASCII);
            Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
