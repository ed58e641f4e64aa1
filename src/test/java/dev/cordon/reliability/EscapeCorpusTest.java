package dev.cordon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.opentest4j.TestAbortedException;

/**
 * Cordon's own escape corpus ({@code src/test/resources/escape-corpus/*.yaml}, format in
 * docs/escape-corpus.md): attacks from DESIGN.md §5's classes, each run in every tier and isolation
 * mode it applies to — GraalPy in-process, GraalPy in a worker JVM, the native engine (CPython
 * under bubblewrap; {@code isolation: worker} does not change the native engine, which is already
 * its own sandboxed process) — and judged only by effects seen from outside the sandbox:
 *
 * <ul>
 *   <li>the canary's random token is in no output, error, traceback, denial or notice, and in no
 *       file under the sandbox's workspace root;</li>
 *   <li>the canary directory is unchanged and the host marker (and any other path the case names)
 *       does not exist;</li>
 *   <li>no forbidden loopback listener (TCP or UDP) counted a connection or a datagram;</li>
 *   <li>the host is alive and the session's next call works;</li>
 *   <li>every line of {@code log_file} is a line Cordon wrote (no forged line), and every line of
 *       the JSON audit stream parses;</li>
 *   <li>plus what the case expects of the result (status, limit, denials).</li>
 * </ul>
 *
 * A case marked {@code known_gap} for a tier/mode must still reproduce there (the test fails when
 * the gap closes, so the mark is removed); it is then reported as aborted with its reason, never
 * silently skipped.
 */
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class EscapeCorpusTest {

    static final Set<String> CLASSES = Set.of("python-introspection", "graalpy-host-access", "allowlist-bypass",
            "path-escape", "exec-allowlist-bypass", "host-dying", "fake-limit-or-log");
    static final List<String> RUNS = List.of("graalpy/in-process", "graalpy/worker", "native/in-process");
    static final Set<String> CASE_KEYS = Set.of("id", "description", "tiers", "profile", "code", "setup_links", "expect",
            "known_gap");
    static final Set<String> EXPECT_KEYS = Set.of("status", "limit", "blocked_min", "blocked_max", "host_absent",
            "stdout_excludes", "stdout_includes", "truncated", "error_type_not", "workspace_max_mb", "python_workers_max");
    static final Pattern LOG_LINE = Pattern.compile(
            "\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z session=corpus \\[(BLOCKED|DEBUG|INFO|WARN|ERROR)\\] [^\\n]*");

    record Case(String file, String cls, String id, String description, List<String> tiers, String profile, String code,
            Map<String, String> links, JsonNode expect, JsonNode knownGap) { }

    static CorpusEnv env;
    static final Map<String, Sandbox> SANDBOXES = new LinkedHashMap<>();
    static final Map<String, Integer> RAN = new TreeMap<>();
    static final Map<String, String> GAPS = new TreeMap<>();
    static String oldJvmOptions;

    @BeforeAll
    static void start() throws IOException {
        env = new CorpusEnv();
        // A few worker JVMs start (and restart after host-dying cases): C1 only halves their start-up
        // CPU on a 2-core CI machine; the gates and limits inside do not depend on the compiler.
        oldJvmOptions = System.getProperty("cordon.worker.jvmOptions");
        System.setProperty("cordon.worker.jvmOptions", "-XX:TieredStopAtLevel=1");
    }

    @AfterAll
    static void stop() throws IOException {
        for (Sandbox s : SANDBOXES.values()) {
            s.close();
        }
        SANDBOXES.clear();
        if (oldJvmOptions == null) {
            System.clearProperty("cordon.worker.jvmOptions");
        } else {
            System.setProperty("cordon.worker.jvmOptions", oldJvmOptions);
        }
        String summary = "escape corpus runs: " + RAN + "\nknown gaps: " + GAPS;
        System.out.println(summary);
        Files.writeString(Probes.reportDir().resolve("escape-corpus.txt"), summary + "\n");
        env.close();
    }

    static List<Case> load() throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        Path dir = Path.of(System.getProperty("cordon.repo", "."), "src/test/resources/escape-corpus");
        List<Case> all = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        for (Path f : files) {
            JsonNode root = yaml.readTree(f.toFile());
            String cls = root.path("class").asText();
            assertTrue(CLASSES.contains(cls), f + ": unknown class " + cls);
            for (JsonNode c : root.path("cases")) {
                for (Iterator<String> it = c.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    assertTrue(CASE_KEYS.contains(k), f + ": unknown key " + k);
                }
                c.path("expect").fieldNames().forEachRemaining(k -> assertTrue(EXPECT_KEYS.contains(k), f + ": unknown expect key " + k));
                List<String> tiers = new ArrayList<>();
                c.path("tiers").forEach(t -> tiers.add(t.asText()));
                if (tiers.isEmpty()) {
                    tiers.addAll(List.of("graalpy", "native"));
                }
                Map<String, String> links = new LinkedHashMap<>();
                c.path("setup_links").fields().forEachRemaining(e -> links.put(e.getKey(), e.getValue().asText()));
                all.add(new Case(f.getFileName().toString(), cls, c.path("id").asText(), c.path("description").asText(), tiers,
                        c.path("profile").asText("default"), c.path("code").asText(), links, c.path("expect"), c.get("known_gap")));
            }
        }
        return all;
    }

    @Test
    void corpusIsWellFormedAndLargeEnough() throws IOException {
        List<Case> all = load();
        Map<String, Integer> perClass = new TreeMap<>();
        Set<String> ids = new java.util.HashSet<>();
        for (Case c : all) {
            assertTrue(ids.add(c.id()), "duplicate id " + c.id());
            assertFalse(c.code().isBlank(), c.id());
            assertFalse(c.description().isBlank(), c.id() + " needs a description");
            assertTrue(Set.of("default", "open").contains(c.profile()), c.id());
            assertTrue(Set.of("graalpy", "native").containsAll(c.tiers()), c.id());
            if (c.knownGap() != null) {
                assertFalse(c.knownGap().path("reason").asText().isBlank(), c.id() + ": a known gap says why");
            }
            perClass.merge(c.cls(), 1, Integer::sum);
        }
        System.out.println("escape corpus: " + all.size() + " cases " + perClass);
        assertTrue(all.size() >= 60, "at least 60 cases: " + all.size());
        assertEquals(CLASSES, perClass.keySet(), "every class of DESIGN.md section 5 has cases");
        perClass.forEach((k, v) -> assertTrue(v >= 5, k + " has only " + v + " cases"));
    }

    @TestFactory
    List<DynamicNode> corpus() throws IOException {
        List<Case> all = load();
        List<DynamicNode> runs = new ArrayList<>();
        // For local iteration only: -Dcordon.corpus.runs=graalpy/worker -Dcordon.corpus.only=REGEX.
        List<String> runsWanted = List.of(System.getProperty("cordon.corpus.runs", String.join(",", RUNS)).split(","));
        Pattern only = Pattern.compile(System.getProperty("cordon.corpus.only", ".*"));
        for (String run : RUNS) {
            if (!runsWanted.contains(run)) {
                continue;
            }
            String tier = run.substring(0, run.indexOf('/'));
            String mode = run.substring(run.indexOf('/') + 1);
            List<DynamicTest> tests = new ArrayList<>();
            for (Case c : all) {
                if (c.tiers().contains(tier) && only.matcher(c.id()).find()) {
                    tests.add(DynamicTest.dynamicTest(c.cls() + "/" + c.id(), () -> run(c, tier, mode)));
                }
            }
            runs.add(DynamicContainer.dynamicContainer(run, tests));
        }
        return runs;
    }

    static Policy policy(String profile, String tier, String mode) {
        String sandbox = """
                filesystem: {persist_across_calls: false, max_size_mb: 16}
                resources: {max_memory_mb: 256, max_cpu_seconds: 4, max_wall_seconds: 8, max_output_size_mb: 1, max_processes: 4}
                logging: {log_file: "/workspace/sandbox.log", audit_file: "/workspace/.audit.jsonl"}
                """;
        if (profile.equals("open")) {
            sandbox += "network: {policy: restricted, allowlist: [{cidr: \"127.0.0.1/32\", ports: [" + env.allowedPort + "]}]}\n"
                    + "subprocess: {allow: true, allowed_commands: [ls, echo, tar], max_runtime_seconds: 10}\n";
        } else {
            sandbox += "network: {policy: deny}\n";
        }
        return Probes.policy(mode, tier, sandbox);
    }

    static Session session(String profile, String tier, String mode) {
        String key = profile + "-" + tier + "-" + mode;
        Sandbox s = SANDBOXES.computeIfAbsent(key, k -> Sandbox.builder().policy(policy(profile, tier, mode)).poolSize(0)
                .workspaceRoot(env.dir.resolve("ws-" + k)).build());
        return s.openSession("corpus");
    }

    static boolean gapApplies(Case c, String tier, String mode) {
        JsonNode g = c.knownGap();
        if (g == null) {
            return false;
        }
        boolean tierOk = !g.has("tiers") || contains(g.get("tiers"), tier);
        boolean modeOk = !g.has("modes") || contains(g.get("modes"), mode);
        return tierOk && modeOk;
    }

    static boolean contains(JsonNode list, String v) {
        for (JsonNode n : list) {
            if (n.asText().equals(v)) {
                return true;
            }
        }
        return false;
    }

    static void run(Case c, String tier, String mode) throws Exception {
        if (tier.equals("native")) {
            // Never silently: a host without the native tier reports these runs as aborted, with why.
            var a = NativeTier.get().check();
            if (!a.available()) {
                throw new TestAbortedException("the native tier is unavailable here: " + a.missing());
            }
        }
        Session s = session(c.profile(), tier, mode);
        Path uploads = s.workspace().resolve("uploads");
        for (Map.Entry<String, String> l : c.links().entrySet()) {
            Path link = uploads.resolve(l.getKey());
            if (!Files.isSymbolicLink(link)) {
                Files.createDirectories(uploads);
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, Path.of(env.fill(l.getValue())));
            }
        }
        ExecResult r = s.exec(env.fill(c.code()));
        RAN.merge(tier + "/" + mode, 1, Integer::sum);
        AssertionError failure = null;
        try {
            check(c, s, r);
        } catch (AssertionError e) {
            failure = e;
        }
        // The host is alive (this code runs in it) and the session answers its next call.
        ExecResult next = s.exec("print('alive')");
        if (!(next.ok() && next.stdout().equals("alive\n"))) {
            if (failure == null) {
                failure = new AssertionError("the next call failed after " + c.id() + ": stdout " + Props.show(next.stdout())
                        + ", " + next);
            }
            // This case broke the session: the cases after it get a new one, so one hole is
            // reported once, not as a cascade.
            s.close();
        }
        String where = tier + "/" + mode;
        if (gapApplies(c, tier, mode)) {
            if (failure == null) {
                throw new AssertionError(c.id() + " is marked as a known gap for " + where
                        + " but no longer reproduces: remove the known_gap mark. Result: " + r);
            }
            GAPS.put(c.id() + " (" + where + ")", c.knownGap().path("reason").asText());
            throw new TestAbortedException("known gap: " + c.knownGap().path("reason").asText() + " | observed: "
                    + failure.getMessage());
        }
        if (failure != null) {
            throw new AssertionError(c.id() + " [" + where + "]: " + failure.getMessage() + "\nresult: " + r, failure);
        }
    }

    static void check(Case c, Session s, ExecResult r) throws IOException {
        String token = env.token;
        // 1. The canary is in nothing the call returned.
        List<String> texts = new ArrayList<>(List.of(r.stdout(), r.stderr(), String.valueOf(r.notices())));
        if (r.error() != null) {
            texts.addAll(List.of(String.valueOf(r.error().type()), String.valueOf(r.error().message()),
                    String.valueOf(r.error().traceback())));
        }
        r.blocked().forEach(b -> texts.add(b.toString()));
        for (String t : texts) {
            assertFalse(t.contains(token), "the canary reached the result");
        }
        // 2. ... nor any file under the sandbox's workspace root (workspace, private /tmp, leftovers).
        Path root = s.workspace().getParent();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && Files.size(p) < 32L * 1024 * 1024) {
                    String content = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
                    assertFalse(content.contains(token), "the canary was copied into " + p);
                }
            }
        }
        // 3. Outside: the canary dir is as it was; the host marker and named paths do not exist.
        assertEquals(token + "\n", Files.readString(env.canary), "the canary was changed");
        try (Stream<Path> l = Files.list(env.canaryDir)) {
            assertEquals(Set.of("canary.txt", "sub"), l.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()),
                    "something was created next to the canary");
        }
        assertFalse(Files.exists(env.hostMarker, LinkOption.NOFOLLOW_LINKS), "the host marker exists");
        for (JsonNode p : c.expect().path("host_absent")) {
            String spec = env.fill(p.asText());
            int glob = spec.indexOf("/**/");
            if (glob < 0) {
                assertFalse(Files.exists(Path.of(spec), LinkOption.NOFOLLOW_LINKS), spec + " exists");
            } else if (Files.isDirectory(Path.of(spec.substring(0, glob)))) {
                String name = spec.substring(glob + 4);
                try (Stream<Path> found = Files.find(Path.of(spec.substring(0, glob)), 12,
                        (f, a) -> f.getFileName() != null && f.getFileName().toString().equals(name))) {
                    assertEquals(List.of(), found.toList(), spec);
                }
            }
        }
        // 4. No forbidden listener was reached.
        assertEquals(Map.of(), env.reached(), "a forbidden listener was reached");
        // 5. The logs hold only lines Cordon wrote.
        Path log = s.workspace().resolve("sandbox.log");
        if (Files.exists(log)) {
            // Forged lines in the cases carry the timestamp 1999-...: Cordon writes the real time.
            String text = Files.readString(log);
            for (String line : text.split("\n", -1)) {
                assertFalse(line.startsWith("1999-"), "a forged line reached log_file: " + Props.show(line));
                assertTrue(line.isEmpty() || LOG_LINE.matcher(line).matches(), "log_file line not written by Cordon: " + Props.show(line));
            }
            for (char ch : text.toCharArray()) {
                assertFalse(ch == '\r' || ch == 0x2028 || ch == 0x2029 || ch == 0x85, "a raw line separator in log_file");
            }
        }
        Path audit = s.workspace().resolve(".audit.jsonl");
        if (Files.exists(audit)) {
            ObjectMapper json = new ObjectMapper();
            for (String line : Files.readAllLines(audit)) {
                JsonNode n = json.readTree(line);
                assertTrue(n.isObject() && n.has("session"), "audit line: " + line);
                assertFalse(line.contains("FORGED-AUDIT"), "forged audit line: " + line);
            }
        }
        // 6. What the case expects of the result.
        JsonNode e = c.expect();
        if (e.has("status")) {
            assertEquals(e.get("status").asText(), r.status().json(), "status");
        }
        if (e.has("limit")) {
            String want = e.get("limit").asText();
            assertEquals(want.equals("none") ? null : want, r.limit() == null ? null : r.limit().json(), "limit");
        }
        if (e.has("truncated")) {
            assertEquals(e.get("truncated").asBoolean(), r.stdoutTruncated(), "stdoutTruncated");
        }
        if (e.has("blocked_max")) {
            assertTrue(r.blocked().size() <= e.get("blocked_max").asInt(), "denials the guest did not cause: " + r.blocked());
        }
        for (JsonNode t : e.path("error_type_not")) {
            assertFalse(r.error() != null && t.asText().equals(r.error().type()), "error.type " + t.asText()
                    + " is Cordon's own status, raised by guest code");
        }
        if (e.has("workspace_max_mb")) {
            long total = 0;
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : all.toList()) {
                    if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !p.getFileName().toString().equals("sandbox.log")
                            && !p.getFileName().toString().equals(".audit.jsonl")) {
                        total += Files.size(p);
                    }
                }
            }
            assertTrue(total <= e.get("workspace_max_mb").asLong() * 1024 * 1024, "workspace holds " + total + " bytes");
        }
        if (e.has("python_workers_max")) {
            // Native tier: CPython processes running the worker script, counted per worker tree (the
            // worker and the copies of it that guest code forked and left running). Other sandboxes'
            // workers of this test JVM are trees of their own; reaped-or-zombie copies have no
            // command line and do not count.
            int max = e.get("python_workers_max").asInt();
            java.util.function.Predicate<ProcessHandle> isWorker = h -> h.info().command().orElse("").contains("python")
                    && h.info().commandLine().orElse("").contains("cordon_worker.py");
            java.util.function.Supplier<List<String>> over = () -> ProcessHandle.current().descendants()
                    .filter(isWorker)
                    .filter(h -> h.parent().map(pp -> !isWorker.test(pp)).orElse(true))
                    .filter(top -> 1 + top.descendants().filter(isWorker).count() > max)
                    .map(top -> top.pid() + " with copies " + top.descendants().filter(isWorker)
                            .map(ProcessHandle::pid).toList())
                    .toList();
            assertTrue(Probes.eventually(15_000, () -> over.get().isEmpty()), () -> "worker trees over " + max
                    + " processes: " + over.get());
        }
        if (e.has("blocked_min")) {
            assertTrue(r.blocked().size() >= e.get("blocked_min").asInt(), "expected denials, got " + r.blocked());
        }
        for (JsonNode x : e.path("stdout_excludes")) {
            assertFalse(r.stdout().contains(env.fill(x.asText())), "stdout contains " + x.asText());
        }
        for (JsonNode x : e.path("stdout_includes")) {
            assertTrue(r.stdout().contains(env.fill(x.asText())), "stdout lacks " + x.asText());
        }
    }
}
