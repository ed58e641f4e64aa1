package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class PresetsTest {

    static final Path DIR = Path.of(System.getProperty("cordon.repo", "."), "polyglot-policies");

    @Test
    void namesAreExactlyTheFilesInPolyglotPolicies() throws IOException {
        Set<String> files;
        try (Stream<Path> s = Files.list(DIR)) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .map(n -> n.substring(0, n.length() - 5)).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(files, new TreeSet<>(Presets.names()));
        assertEquals(Set.of("default", "data-analysis", "web-research", "code-generation", "document-processing"), files);
    }

    @Test
    void everyPresetValidatesAndMatchesItsFile() throws Exception {
        for (String name : Presets.names()) {
            String text = Presets.text(name);
            assertEquals(Files.readString(DIR.resolve(name + ".yaml")), text, name + ": classpath copy is the file");
            Policy p = Presets.load(name);
            assertEquals(PolicyLoader.load(DIR.resolve(name + ".yaml")).withSource(null), p, name);
            assertEquals(p, PolicyLoader.parse(PolicyReport.of(p).effectiveYaml(), "effective"), name + " round trip");
        }
    }

    /** Each file starts with a comment header: its name, what it allows and why. */
    @Test
    void everyPresetStartsWithAHeader() throws Exception {
        for (String name : Presets.names()) {
            List<String> lines = Presets.text(name).lines().toList();
            assertTrue(lines.getFirst().startsWith("# " + name + ": "), name + ": " + lines.getFirst());
            List<String> header = lines.stream().takeWhile(l -> l.startsWith("#")).toList();
            assertTrue(header.size() >= 8, name + ": header of " + header.size() + " lines");
            String h = String.join("\n", header);
            assertTrue(h.contains("Allows:") && h.contains("Why:"), name + " header says what it allows and why");
            assertTrue(lines.get(header.size()).equals("execution:"), name + ": policy follows the header");
        }
    }

    @Test
    void defaultPresetIsPolicyDefault() throws Exception {
        assertEquals(Policy.DEFAULT, Presets.load("default"));
        assertTrue(PolicyReport.of(Policy.DEFAULT).warnings().isEmpty());
        assertTrue(PolicyReport.of(Policy.DEFAULT).notEnforced().isEmpty());
    }

    /** data-analysis is the guide's complete config (the first case of policy-cases/guide.yaml). */
    @Test
    void dataAnalysisIsTheGuidesCompleteConfig() throws Exception {
        JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(PolicyCasesTest.CASES.resolve("guide.yaml").toFile());
        JsonNode c = doc.get("cases").get(0);
        assertTrue(c.get("note").asText().contains("complete data-analysis config"));
        assertEquals(PolicyLoader.parse(c.get("policy").asText(), "guide"), Presets.load("data-analysis"));
    }

    /** Every ordered pair: allowsSubsetOf holds exactly where Presets.ORDER says (and reflexively). */
    @Test
    void presetOrderHoldsForEveryPair() throws Exception {
        List<String> failures = new ArrayList<>();
        int pairs = 0;
        for (String a : Presets.names()) {
            for (String b : Presets.names()) {
                boolean declared = a.equals(b) || Presets.ORDER.get(a).contains(b);
                List<String> excess = PolicyOrder.excess(Presets.load(a), Presets.load(b));
                if (declared != excess.isEmpty()) {
                    failures.add(a + " <= " + b + " declared " + declared + ", excess " + excess);
                }
                pairs++;
            }
        }
        assertEquals(25, pairs);
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(Set.copyOf(Presets.names()), Presets.ORDER.keySet());
    }

    @Test
    void unknownPresetsAreRefused() {
        for (String bad : List.of("nope", "../pom", "/polyglot-policies/default", "DEFAULT", "")) {
            PolicyException e = assertThrows(PolicyException.class, () -> Presets.load(bad), bad);
            assertTrue(e.getMessage().contains("no such preset; the presets are: default, "), e.getMessage());
            assertThrows(PolicyException.class, () -> Presets.text(bad), bad);
        }
    }
}
