package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Table-driven loader cases, one file per topic in {@code src/test/resources/policy-cases/}
 * (OPA-style: {@code note}, the {@code policy} text, and {@code want}). See README.md there for the
 * format. Every valid case is also round-tripped through the effective YAML.
 */
class PolicyCasesTest {

    static final Path CASES = Path.of(System.getProperty("cordon.repo", "."), "src/test/resources/policy-cases");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TestFactory
    Stream<DynamicNode> cases() throws IOException {
        List<DynamicNode> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(CASES)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                JsonNode doc = YAML.readTree(f.toFile());
                List<DynamicTest> tests = new ArrayList<>();
                for (JsonNode c : doc.required("cases")) {
                    String note = c.required("note").asText();
                    tests.add(DynamicTest.dynamicTest(note, () -> run(f.getFileName().toString(), c)));
                }
                files.add(DynamicContainer.dynamicContainer(f.getFileName().toString(), tests));
            }
        }
        return files.stream();
    }

    /** A typo in a case file must not make its cases vanish. */
    @Test
    void everyCaseFileHasCasesAndOnlyKnownKeys() throws IOException {
        int total = 0;
        try (Stream<Path> s = Files.list(CASES)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                JsonNode doc = YAML.readTree(f.toFile());
                assertTrue(doc.has("cases") && doc.get("cases").size() > 0, f + " has no cases");
                for (JsonNode c : doc.get("cases")) {
                    for (Iterator<String> it = c.fieldNames(); it.hasNext(); ) {
                        String k = it.next();
                        assertTrue(List.of("note", "policy", "want").contains(k), f + ": unknown case key " + k);
                    }
                    for (Iterator<String> it = c.required("want").fieldNames(); it.hasNext(); ) {
                        String k = it.next();
                        assertTrue(List.of("valid", "equals_default", "values", "warnings", "no_warnings",
                                "not_enforced", "error", "errors").contains(k), f + ": unknown want key " + k);
                    }
                    total++;
                }
            }
        }
        assertTrue(total >= 100, "only " + total + " cases");
    }

    private static void run(String file, JsonNode c) throws Exception {
        String text = c.required("policy").asText();
        JsonNode want = c.required("want");
        String name = file + ":" + c.get("note").asText();
        Policy p;
        try {
            p = PolicyLoader.parse(text, "case.yaml");
        } catch (PolicyException e) {
            if (!want.has("error") && !want.has("errors")) {
                fail(name + ": expected valid, got\n" + e.getMessage());
            }
            checkErrors(name, want, e);
            return;
        }
        if (want.has("error") || want.has("errors")) {
            fail(name + ": expected an error, but the policy loaded:\n" + PolicyYaml.write(p));
        }
        assertTrue(want.path("valid").asBoolean(true), name + ": want.valid is false but no error expected");
        // The effective YAML reads back as the same policy.
        String effective = PolicyYaml.write(p);
        assertEquals(p, PolicyLoader.parse(effective, "effective.yaml"), name + ": effective YAML round trip");
        if (want.has("equals_default")) {
            assertEquals(want.get("equals_default").asBoolean(), p.equals(Policy.DEFAULT), name + ": equals DEFAULT");
        }
        JsonNode tree = YAML.readTree(effective);
        for (Map.Entry<String, JsonNode> v : want.path("values").properties()) {
            String path = v.getKey().startsWith("execution") ? v.getKey() : "execution.sandbox." + v.getKey();
            JsonNode actual = at(tree, path);
            assertNotNull(actual, name + ": no value at " + v.getKey() + " in\n" + effective);
            assertEquals(v.getValue(), actual, name + ": value of " + v.getKey());
        }
        PolicyReport r = PolicyReport.of(p);
        for (JsonNode w : want.path("warnings")) {
            assertTrue(r.warnings().stream().anyMatch(x -> x.toString().contains(w.asText())),
                    name + ": no warning containing \"" + w.asText() + "\" in " + r.warnings());
        }
        if (want.path("no_warnings").asBoolean(false)) {
            assertTrue(r.warnings().isEmpty(), name + ": unexpected warnings " + r.warnings());
        }
        if (want.has("not_enforced")) {
            // The knobs this policy sets that are (or were) pending: each must be set, and the report
            // lists exactly those still NOT_YET in the Knob table, so flipping a row needs no case edit.
            List<String> expected = new ArrayList<>();
            for (JsonNode n : want.get("not_enforced")) {
                Knob k = java.util.Arrays.stream(Knob.values()).filter(x -> x.path().equals(n.asText())).findFirst()
                        .orElseThrow(() -> new AssertionError(name + ": no knob " + n.asText()));
                assertTrue(k.isSet(p), name + ": " + k.path() + " is not set by this policy");
                if (!k.enforced()) {
                    expected.add(k.path());
                }
            }
            List<String> actual = r.notEnforced().stream().map(u -> u.knob().path()).toList();
            assertEquals(expected, actual, name + ": not enforced");
        }
    }

    private static void checkErrors(String name, JsonNode want, PolicyException e) {
        List<JsonNode> expected = new ArrayList<>();
        if (want.has("error")) {
            expected.add(want.get("error"));
        } else {
            want.get("errors").forEach(expected::add);
            assertEquals(expected.size(), e.errors().size(), name + ": number of errors in\n" + e.getMessage());
        }
        for (int i = 0; i < expected.size(); i++) {
            JsonNode x = expected.get(i);
            PolicyException actual = e.errors().get(i);
            String all = "\n" + e.getMessage();
            assertEquals("case.yaml", actual.source(), name);
            if (x.has("line")) {
                assertEquals(x.get("line").asInt(), actual.line(), name + ": line" + all);
            }
            if (x.has("column")) {
                assertEquals(x.get("column").asInt(), actual.column(), name + ": column" + all);
            }
            if (x.has("path")) {
                assertEquals(x.get("path").asText(), actual.yamlPath(), name + ": yaml path" + all);
            }
            if (x.has("message")) {
                assertTrue(actual.problem().contains(x.get("message").asText()),
                        name + ": message should contain \"" + x.get("message").asText() + "\"" + all);
            }
            // The message always leads with file:line:column when the position is known.
            if (actual.line() > 0) {
                assertTrue(actual.getMessage().startsWith("case.yaml:" + actual.line() + ":" + actual.column() + ": "),
                        name + ": message format " + actual.getMessage());
            }
            assertFalse(actual.problem().isBlank(), name);
        }
    }

    /** {@code a.b[2].c} in a Jackson tree; null when absent. */
    static JsonNode at(JsonNode root, String path) {
        JsonNode n = root;
        for (String part : path.split("\\.")) {
            String key = part;
            List<Integer> idx = new ArrayList<>();
            int b = part.indexOf('[');
            if (b >= 0) {
                key = part.substring(0, b);
                for (String i : part.substring(b + 1, part.length() - 1).split("\\]\\[")) {
                    idx.add(Integer.parseInt(i));
                }
            }
            n = n.get(key);
            for (int i : idx) {
                n = n == null ? null : n.get(i);
            }
            if (n == null) {
                return null;
            }
        }
        return n;
    }
}
