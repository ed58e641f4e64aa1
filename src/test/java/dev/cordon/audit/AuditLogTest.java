package dev.cordon.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.agent.CordonAgent;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit stream through real sessions: the guide's {@code [BLOCKED]} lines with time and session,
 * the JSON-lines schema, {@code logging.level}, and guest code (in-JVM and in the native tier)
 * failing to forge, truncate, delete or redirect the logs. Every check reads the files on the host.
 */
class AuditLogTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Pattern LINE = Pattern.compile(
            "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z session=[A-Za-z0-9_-]+ \\[(BLOCKED|ERROR|WARN|INFO|DEBUG)\\] .*$");

    @TempDir
    static Path root;
    static Listener listener;

    /** A loopback listener that counts the connections that reach it (the effect a denial must prevent). */
    static final class Listener implements AutoCloseable {
        final ServerSocketChannel server;
        final AtomicInteger accepted = new AtomicInteger();

        Listener() throws IOException {
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread.ofPlatform().daemon().start(() -> {
                while (server.isOpen()) {
                    try (SocketChannel c = server.accept()) {
                        accepted.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() throws IOException {
            return ((InetSocketAddress) server.getLocalAddress()).getPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
        listener = new Listener();
    }

    @AfterAll
    static void stop() throws IOException {
        listener.close();
    }

    static Policy policy(String level, boolean logBlocked, boolean subprocess) throws Exception {
        return PolicyLoader.parse("""
                execution:
                  sandbox:
                    network:
                      policy: restricted
                      allowlist:
                        - cidr: "10.0.0.0/8"
                          ports: [5432]
                    subprocess:
                      allow: %s
                      allowed_commands: ["head", "python"]
                    filesystem: {persist_across_calls: true}
                  logging:
                    level: "%s"
                    log_blocked_operations: %s
                    log_file: "/workspace/sandbox.log"
                    audit_file: "/workspace/logs/audit.jsonl"
                """.formatted(subprocess, level, logBlocked), "audit-test.yaml");
    }

    /** The guide's three example denials, made by guest code. */
    static String guideDenials(int port) {
        return """
                import socket, subprocess
                def attempt(f):
                    try:
                        f()
                        print('DID')
                    except BaseException as e:
                        print(type(e).__name__)
                def connect():
                    s = socket.socket(); s.settimeout(3)
                    try: s.connect(('127.0.0.1', %d))
                    finally: s.close()
                attempt(connect)
                attempt(lambda: subprocess.run(['wget', 'http://example.com/']))
                attempt(lambda: open('/etc/hosts', 'a').write('pwned'))
                """.formatted(port);
    }

    @Test
    void blockedLinesHaveTheGuidesFormatWithTimeAndSession() throws Exception {
        boolean nativeOk = NativeTier.get().check().available();
        int port = listener.port();
        int before = listener.accepted.get();
        byte[] hosts = Files.readAllBytes(Path.of("/etc/hosts"));
        try (Sandbox sb = Sandbox.builder().policy(policy("info", true, nativeOk)).workspaceRoot(root.resolve("fmt"))
                .poolSize(0).build()) {
            Session s = sb.openSession("fmt-1");
            ExecResult r = s.exec(guideDenials(port));
            assertFalse(r.stdout().contains("DID"), r::toString);
            assertEquals(3, r.blocked().size(), r::toString);
            List<String> lines = Files.readAllLines(s.workspace().resolve("sandbox.log"));
            for (String l : lines) {
                assertTrue(LINE.matcher(l).matches(), l);
            }
            List<String> blocked = lines.stream().filter(l -> l.contains(" [BLOCKED] ")).toList();
            assertEquals(3, blocked.size(), String.join("\n", lines));
            assertEquals(" session=fmt-1 [BLOCKED] syscall=connect dest=127.0.0.1:" + port + " policy=network.restricted",
                    afterTime(blocked.get(0)));
            assertEquals(" session=fmt-1 [BLOCKED] subprocess=wget policy="
                    + (nativeOk ? "subprocess.allowed_commands" : "subprocess.allow"), afterTime(blocked.get(1)));
            assertEquals(" session=fmt-1 [BLOCKED] filesystem=write path=/etc/hosts policy=filesystem.workspace_only",
                    afterTime(blocked.get(2)));
            for (String l : blocked) {
                Instant t = Instant.parse(l.substring(0, l.indexOf(' ')));
                assertTrue(Math.abs(t.toEpochMilli() - System.currentTimeMillis()) < 120_000, l);
            }
            assertTrue(lines.getFirst().contains("[INFO] session opened: engine=graalpy policy="), lines.getFirst());

            List<JsonNode> events = events(s.workspace().resolve("logs/audit.jsonl"));
            assertEquals(3, events.size());
            Set<String> ids = new HashSet<>();
            String[][] want = {
                    {"network", "connect", "127.0.0.1:" + port, "network.restricted"},
                    {"subprocess", "exec", "wget", nativeOk ? "subprocess.allowed_commands" : "subprocess.allow"},
                    {"filesystem", "write", "/etc/hosts", "filesystem.workspace_only"}};
            for (int i = 0; i < 3; i++) {
                JsonNode e = events.get(i);
                assertEquals(AuditEvent.SCHEMA, e.get("schema").asInt());
                assertEquals("deny", e.get("event").asText());
                assertTrue(ids.add(e.get("id").asText()), "ids are unique");
                Instant.parse(e.get("time").asText());
                assertEquals("fmt-1", e.get("session").asText());
                assertEquals(want[i][0], e.get("category").asText(), e::toString);
                assertEquals(want[i][1], e.get("operation").asText(), e::toString);
                assertEquals(want[i][2], e.get("target").asText(), e::toString);
                assertEquals(want[i][3], e.get("rule").asText(), e::toString);
                assertFalse(e.get("reason").asText().isBlank());
                assertFalse(e.get("fix").asText().isBlank());
                assertEquals(r.blocked().get(i).policy(), e.get("rule").asText());
            }
            s.close();
            List<String> after = Files.readAllLines(s.workspace().resolve("sandbox.log"));
            assertTrue(after.getLast().contains("[INFO] session closed after 1 call"), after.getLast());
        }
        assertEquals(before, listener.accepted.get(), "the denied connect never reached the listener");
        assertTrue(java.util.Arrays.equals(hosts, Files.readAllBytes(Path.of("/etc/hosts"))), "/etc/hosts unchanged");
    }

    @Test
    void levelDecidesTheOtherLinesAndTheSwitchDecidesBlockedLines() throws Exception {
        int port = listener.port();
        String code = guideDenials(port) + "\nwhile True: pass\n"; // ends in a CPU/wall limit
        for (String level : List.of("error", "warn", "info", "debug")) {
            Policy p = policy(level, !level.equals("warn"), false)
                    .withResources(new dev.cordon.policy.ResourcesPolicy(256, 1, 1, 1, 3));
            try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("lvl-" + level)).poolSize(0).build()) {
                Session s = sb.openSession("lvl");
                ExecResult r = s.exec(code);
                assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
                s.exec("print(1)");
                s.close();
                List<String> lines = Files.exists(s.workspace().resolve("sandbox.log"))
                        ? Files.readAllLines(s.workspace().resolve("sandbox.log")) : List.of();
                String all = level + ":\n" + String.join("\n", lines);
                for (String l : lines) {
                    assertTrue(LINE.matcher(l).matches(), l);
                }
                // Distinct denials: GraalPy asks the process gate once per PATH entry for one missing command.
                long blocked = lines.stream().filter(l -> l.contains("[BLOCKED]")).map(AuditLogTest::afterTime)
                        .distinct().count();
                assertEquals(level.equals("warn") ? 0 : 3, blocked, all);
                assertEquals(!level.equals("error"), lines.stream().anyMatch(l -> l.contains("[WARN] limit=")), all);
                assertEquals(level.equals("info") || level.equals("debug"),
                        lines.stream().anyMatch(l -> l.contains("[INFO] session opened")), all);
                assertEquals(level.equals("debug"), lines.stream().anyMatch(l -> l.contains("[DEBUG] call=2 status=ok")), all);
                // The JSON stream records every denial whatever the level and the switch.
                assertEquals(3, events(s.workspace().resolve("logs/audit.jsonl")).stream()
                        .map(e -> e.get("target").asText()).distinct().count(), all);
            }
        }
    }

    /**
     * In-JVM guest code: appends, overwrites, truncates, deletes, renames, links over and forges
     * lines through a crafted path; the host's lines are intact afterwards and no forged line exists.
     */
    @Test
    void guestCannotForgeTruncateOrDeleteTheLogs() throws Exception {
        try (Sandbox sb = Sandbox.builder().policy(policy("info", true, false)).workspaceRoot(root.resolve("forge"))
                .poolSize(0).build()) {
            Session s = sb.openSession("forge");
            Path log = s.workspace().resolve("sandbox.log");
            Path jsonl = s.workspace().resolve("logs/audit.jsonl");
            assertTrue(s.exec(guideDenials(listener.port())).blocked().size() >= 2);
            String logBefore = Files.readString(log);
            String jsonBefore = Files.readString(jsonl);
            assertTrue(logBefore.contains("[BLOCKED]"));
            String forged = "2030-01-01T00:00:00Z session=forge [BLOCKED] FORGED-LINE policy=none";
            ExecResult r = s.exec("""
                    import os, shutil
                    LOG, AUD = '/workspace/sandbox.log', '/workspace/logs/audit.jsonl'
                    FORGED = %s
                    print('can read:', '[BLOCKED]' in open(LOG).read())
                    open('/workspace/other.txt', 'w').write('other')
                    def attempt(name, f):
                        try:
                            f()
                            print(name, 'DID')
                        except BaseException as e:
                            print(name, type(e).__name__)
                    attempt('append', lambda: open(LOG, 'a').write('\\n' + FORGED + '\\n'))
                    attempt('overwrite', lambda: open(LOG, 'w').write(FORGED))
                    attempt('r+', lambda: open(LOG, 'r+').write(FORGED))
                    attempt('truncate', lambda: os.truncate(LOG, 0))
                    attempt('ftruncate', lambda: os.ftruncate(os.open(LOG, os.O_RDWR), 0))
                    attempt('remove', lambda: os.remove(LOG))
                    attempt('rename', lambda: os.rename(LOG, '/workspace/moved.log'))
                    attempt('replace', lambda: os.replace('/workspace/other.txt', LOG))
                    attempt('copy', lambda: shutil.copy('/workspace/other.txt', LOG))
                    attempt('rmtree', lambda: shutil.rmtree('/workspace/logs'))
                    attempt('json-append', lambda: open(AUD, 'a').write('{"schema":1,"event":"deny","id":"forged"}\\n'))
                    attempt('json-rename-dir', lambda: os.rename('/workspace/logs', '/workspace/logs2'))
                    # A denial whose target carries a line break and a whole fake line.
                    attempt('inject', lambda: open('/etc/x\\n' + FORGED, 'w'))
                    attempt('inject-u2028', lambda: open('/etc/y\\u2028' + FORGED, 'w'))
                    """.formatted(pyString(forged)));
            assertTrue(r.stdout().contains("can read: True"), r::toString);
            assertFalse(r.stdout().contains("DID"), r.stdout());
            String logAfter = Files.readString(log);
            String jsonAfter = Files.readString(jsonl);
            assertTrue(logAfter.startsWith(logBefore), "earlier lines intact:\n" + logAfter);
            assertTrue(jsonAfter.startsWith(jsonBefore), "earlier events intact:\n" + jsonAfter);
            for (String l : logAfter.split("\n", -1)) {
                if (!l.isEmpty()) {
                    assertTrue(LINE.matcher(l).matches(), "only host lines: " + l);
                    assertFalse(l.startsWith("2030-"), "no forged line: " + l);
                }
            }
            assertTrue(logAfter.endsWith("\n"));
            // The crafted targets are in the log, each escaped on its own host line.
            assertTrue(logAfter.contains("path=\"/etc/x\\n" + forged + "\" policy=filesystem.workspace_only"), logAfter);
            assertTrue(logAfter.contains("path=\"/etc/y\\u2028" + forged + "\" policy=filesystem.workspace_only"), logAfter);
            assertFalse(logAfter.contains("\u2028"));
            List<JsonNode> events = events(jsonl);
            assertTrue(events.stream().noneMatch(e -> e.get("id").asText().equals("forged")));
            assertTrue(events.stream().anyMatch(e -> e.get("target").asText().equals("/etc/x\n" + forged)),
                    "JSON keeps the exact target, escaped by JSON");
            assertFalse(Files.exists(s.workspace().resolve("moved.log")));
            assertFalse(Files.exists(s.workspace().resolve("logs2")));
            assertTrue(Files.isRegularFile(log, LinkOption.NOFOLLOW_LINKS));
        }
    }

    /**
     * Native-tier processes write the workspace directly. The log file is bind-mounted read-only into
     * the sandbox; and whatever a process does to the workspace, the host never writes a log line
     * through a link it planted (here: the JSON stream's directory replaced by a link to a host dir).
     */
    @Test
    void nativeProcessesCannotRewriteTheLogOrRedirectTheHostsWrites() throws Exception {
        Assumptions.assumeTrue(NativeTier.get().check().available(), () -> NativeTier.get().check().describe());
        Path victimDir = Files.createDirectories(root.resolve("victim"));
        Path victim = victimDir.resolve("audit.jsonl");
        Files.writeString(victim, "host file\n");
        try (Sandbox sb = Sandbox.builder().policy(policy("info", true, true)).workspaceRoot(root.resolve("native"))
                .poolSize(0).build()) {
            Session s = sb.openSession("native");
            Path log = s.workspace().resolve("sandbox.log");
            assertTrue(s.exec(guideDenials(listener.port())).blocked().size() >= 2);
            String logBefore = Files.readString(log);
            String tamper = """
                    import os, sys
                    LOG = '/workspace/sandbox.log'
                    for name, f in [
                        ('append', lambda: open(LOG, 'a').write('2030-01-01T00:00:00Z session=native [BLOCKED] FORGED\\n')),
                        ('truncate', lambda: os.truncate(LOG, 0)),
                        ('remove', lambda: os.remove(LOG)),
                        ('rename', lambda: os.rename(LOG, '/workspace/moved.log')),
                        ('relink-json-dir', lambda: (os.rename('/workspace/logs', '/workspace/logs-old'),
                                                     os.symlink(sys.argv[1], '/workspace/logs'))),
                    ]:
                        try:
                            f(); print(name, 'DID')
                        except BaseException as e:
                            print(name, type(e).__name__)
                    """;
            s.upload("tamper.py", tamper.getBytes());
            ExecResult r = s.exec("""
                    import subprocess
                    import os
                    p = subprocess.run(['python3', '/workspace/uploads/tamper.py', %s], capture_output=True, text=True)
                    print(p.stdout, p.stderr)
                    # Still in the same call, the link in place: a denial the host must audit.
                    print('link in place:', os.path.islink('/workspace/logs'))
                    try:
                        open('/etc/hosts', 'a')
                    except OSError as e:
                        print('denied', type(e).__name__)
                    """.formatted(pyString(victimDir.toString())));
            for (String op : List.of("append", "truncate", "remove", "rename")) {
                assertTrue(Pattern.compile("(?m)^" + op + " (PermissionError|OSError)$").matcher(r.stdout()).find(),
                        op + " refused: " + r.stdout());
            }
            assertTrue(r.stdout().contains("relink-json-dir DID"), "the threat is real: " + r.stdout());
            assertTrue(r.stdout().contains("link in place: True"), r.stdout());
            assertTrue(r.stdout().contains("denied PermissionError"), r.stdout());
            assertEquals("host file\n", Files.readString(victim), "the host never wrote through the planted link");
            // Another denial after the tampering: the host appends again.
            ExecResult after = s.exec("open('/etc/hosts', 'a')");
            assertEquals(1, after.blocked().size(), after::toString);
            String logAfter = Files.readString(log);
            assertTrue(logAfter.startsWith(logBefore), r.stdout() + "\n" + logAfter);
            assertFalse(logAfter.contains("FORGED"), logAfter);
            assertTrue(logAfter.contains("[BLOCKED] filesystem=write path=/etc/hosts"), logAfter);
            assertEquals("host file\n", Files.readString(victim), "the host never wrote through the planted link");
            assertEquals(List.of("audit.jsonl"), listNames(victimDir));
        }
    }

    /** A guest in a denial loop: the files get a bounded number of lines per call and one count. */
    @Test
    void denialsPerCallAreWrittenUpToABoundThenCounted() throws Exception {
        try (Sandbox sb = Sandbox.builder().policy(policy("info", true, false)).workspaceRoot(root.resolve("flood"))
                .poolSize(0).build()) {
            Session s = sb.openSession("flood");
            ExecResult r = s.exec("""
                    n = 0
                    for i in range(1500):
                        try:
                            open('/etc/flood-%d' % i)
                        except OSError:
                            n += 1
                    print(n)
                    """);
            assertEquals("1500\n", r.stdout(), r::toString);
            assertEquals(Audit.MAX_BLOCKED_PER_CALL, r.blocked().size());
            List<String> lines = Files.readAllLines(s.workspace().resolve("sandbox.log"));
            assertEquals(Audit.MAX_WRITTEN_PER_CALL, lines.stream().filter(l -> l.contains("[BLOCKED]")).count());
            assertTrue(lines.stream().anyMatch(l -> l.contains("[WARN] suppressed=500 call=1:")), String.join("\n",
                    lines.subList(Math.max(0, lines.size() - 3), lines.size())));
            List<JsonNode> events = events(s.workspace().resolve("logs/audit.jsonl"));
            assertEquals(Audit.MAX_WRITTEN_PER_CALL, events.stream().filter(e -> e.get("event").asText().equals("deny")).count());
            JsonNode last = events.getLast();
            assertEquals("suppressed", last.get("event").asText());
            assertEquals(500, last.get("count").asInt());
            // The next call starts a fresh bound.
            s.exec("open('/etc/hosts', 'a')");
            assertTrue(Files.readAllLines(s.workspace().resolve("sandbox.log")).getLast()
                    .endsWith("[BLOCKED] filesystem=write path=/etc/hosts policy=filesystem.workspace_only"));
        }
    }

    static List<String> listNames(Path dir) throws IOException {
        try (var st = Files.list(dir)) {
            return st.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static String afterTime(String line) {
        return line.substring(line.indexOf(' '));
    }

    static List<JsonNode> events(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            JsonNode n = JSON.readTree(l);
            assertNotNull(n.get("schema"), l);
            out.add(n);
        }
        return out;
    }

    static String pyString(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
