package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Golden files in {@code native-fallback/golden/}. Run with {@code -Dcordon.golden.update=true} to
 * rewrite them after an intended change, then review the diff before committing.
 */
final class Golden {

    private Golden() { }

    static Path dir() {
        return Path.of(System.getProperty("cordon.repo", ".")).resolve("native-fallback/golden");
    }

    static void check(String file, String actual) throws IOException {
        Path p = dir().resolve(file);
        if (Boolean.getBoolean("cordon.golden.update")) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, actual, StandardCharsets.UTF_8);
            return;
        }
        String expected = Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "<missing " + p + ">";
        assertEquals(expected, actual, "golden file " + p + " differs (rerun with -Dcordon.golden.update=true"
                + " after an intended change and review the diff)");
    }
}
