package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Cordon's own error types are reserved in both tiers: a guest class named like one is reported qualified. */
class CordonTypesTest {

    @Test
    void nativeWorkerKeepsTheSameList() throws Exception {
        String py = Files.readString(Path.of("native-fallback/python/cordon_worker.py"));
        Matcher m = Pattern.compile("CORDON_TYPES = frozenset\\(\\(([^)]*)\\)\\)").matcher(py);
        assertTrue(m.find(), "cordon_worker.py defines CORDON_TYPES");
        Set<String> names = new TreeSet<>();
        Matcher q = Pattern.compile("'([A-Za-z]+)'").matcher(m.group(1));
        while (q.find()) {
            names.add(q.group(1));
        }
        assertEquals(new TreeSet<>(ExecResult.Error.CORDON_TYPES), names);
    }

    @Test
    void guestTypesNamedLikeCordonsAreQualified() {
        assertEquals("ZeroDivisionError", ExecResult.Error.guestType("ZeroDivisionError", "builtins.ZeroDivisionError"));
        assertEquals("__main__.WorkerDied", ExecResult.Error.guestType("WorkerDied", "__main__.WorkerDied"));
        assertEquals("guest.EngineError", ExecResult.Error.guestType("EngineError", "EngineError"));
        assertEquals("guest.LimitExceeded", ExecResult.Error.guestType("LimitExceeded", null));
    }
}
