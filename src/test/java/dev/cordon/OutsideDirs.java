package dev.cordon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where tests put host files that must lie outside every sandbox (canaries, read-only dirs): the
 * build's {@code target/}, unless the checkout itself lives under the host's {@code /tmp}. Guest
 * code has a private {@code /tmp}, so a host path below {@code /tmp} names a file in the session's
 * own tmp dir: reading it is "not found", not a denial, and read-only dirs there are refused as
 * overlapping. Then {@code /var/tmp} serves instead.
 */
public final class OutsideDirs {

    private OutsideDirs() { }

    /** A directory outside {@code /tmp} for this test run (created if needed). */
    public static Path root() {
        Path target = Path.of(System.getProperty("cordon.repo", "."), "target").toAbsolutePath().normalize();
        try {
            Files.createDirectories(target);
            Path real = target.toRealPath();
            if (!real.startsWith(Path.of("/tmp"))) {
                return real;
            }
            Path alt = Path.of("/var/tmp", "cordon-tests-" + ProcessHandle.current().pid());
            Files.createDirectories(alt);
            return alt;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
