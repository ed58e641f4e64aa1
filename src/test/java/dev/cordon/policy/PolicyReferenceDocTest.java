package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** docs/policy-reference.md stays in step with the Knob table and the schema the loader accepts. */
class PolicyReferenceDocTest {

    static final Path DOC = Path.of(System.getProperty("cordon.repo", "."), "docs/policy-reference.md");

    private static List<String> cells(String row) {
        String[] parts = row.split("\\|", -1);
        return java.util.Arrays.stream(parts, 1, parts.length - 1).map(String::strip).toList();
    }

    @Test
    void statusTableMatchesTheKnobs() throws IOException {
        List<String> lines = Files.readAllLines(DOC);
        int start = lines.indexOf("## Enforcement status");
        assertTrue(start > 0, "the doc has an Enforcement status section");
        List<String> rows = lines.subList(start, lines.size()).stream()
                .takeWhile(l -> !l.startsWith("## ") || l.equals("## Enforcement status"))
                .filter(l -> l.startsWith("| `")).toList();
        assertEquals(Knob.values().length, rows.size(), "one row per knob");
        for (Knob k : Knob.values()) {
            String row = rows.stream().filter(r -> r.startsWith("| `" + k.path() + "` |")).findFirst().orElse(null);
            assertTrue(row != null, "no status row for " + k.path());
            List<String> c = cells(row);
            assertEquals(k.enforced() ? "enforced" : "not yet", c.get(1), k.path());
            assertEquals(k.topic(), c.get(2), k.path());
            assertEquals(k.enforced() ? "" : k.until(), c.get(3), k.path());
        }
    }

    /** Each key row of the section tables says the same status as its knob. */
    @Test
    void keyTablesAgreeWithTheKnobs() throws IOException {
        List<String> lines = Files.readAllLines(DOC);
        int statusAt = lines.indexOf("## Enforcement status");
        for (Knob k : Knob.values()) {
            if (k.path().contains("=")) {
                continue;
            }
            List<String> rows = lines.subList(0, statusAt).stream()
                    .filter(l -> l.startsWith("| `" + k.path() + "`")).toList();
            assertEquals(1, rows.size(), "one key row for " + k.path());
            List<String> c = cells(rows.getFirst());
            String enforced = c.getLast();
            assertEquals((k.enforced() ? "enforced" : "not yet") + " (" + k.topic() + ")", enforced, k.path());
        }
        for (String value : List.of("execution.engine", "execution.isolation")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("| `" + value + "`")), value);
        }
        String engine = lines.stream().filter(l -> l.startsWith("| `execution.engine`")).findFirst().orElseThrow();
        assertTrue(engine.endsWith((Knob.ENGINE_NATIVE.enforced() ? "`native`: enforced" : "`native`: not yet")
                + " (native tier) |"), engine);
        String isolation = lines.stream().filter(l -> l.startsWith("| `execution.isolation`")).findFirst().orElseThrow();
        assertTrue(isolation.endsWith((Knob.ISOLATION_WORKER.enforced() ? "`worker`: enforced" : "`worker`: not yet")
                + " (worker isolation) |"), isolation);
    }

    /** Every key the loader accepts is documented. */
    @Test
    void everySchemaKeyIsDocumented() throws Exception {
        String doc = Files.readString(DOC);
        Field f = PolicyParser.class.getDeclaredField("KEY_HOMES");
        f.setAccessible(true);
        @SuppressWarnings("unchecked")
        Map<String, List<String>> homes = (Map<String, List<String>>) f.get(null);
        assertTrue(homes.size() > 30);
        for (String key : homes.keySet()) {
            assertTrue(doc.contains("`" + key + "`") || doc.contains("." + key + "`") || doc.contains(key + ":")
                    || doc.contains(key + ","), "undocumented key " + key);
        }
        assertFalse(doc.contains("TODO"));
    }
}
