package dev.cordon.fs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Test directories under {@link dev.cordon.OutsideDirs}, never under the host's {@code /tmp}: guest code sees its
 * own {@code /tmp}, so a host path below {@code /tmp} would name a file in the session's tmp dir
 * rather than a place outside the sandbox.
 */
final class TestDirs implements AfterEachCallback {

    private static final Path ROOT = dev.cordon.OutsideDirs.root().resolve("fs-tests");
    private Path current;

    Path fresh() {
        try {
            Files.createDirectories(ROOT);
            current = Files.createTempDirectory(ROOT, "t");
            return current;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (current != null) {
            delete(current);
            current = null;
        }
    }

    static void delete(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
