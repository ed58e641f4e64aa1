package dev.cordon.learn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.agent.CordonAgent;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import dev.cordon.policy.PolicyOrder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * learn proposes exactly what a script needs, the script really does its operations in the shadow
 * runs (the listener sees them), nothing outside the workspace changes, the policy file is never
 * written, and merging the printed fragment into the file makes the script run clean (proved by
 * running it under the merged file).
 */
class LearnTest {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path dir;
    Listener listener;

    /** Counts accepted connections and keeps what each sent. */
    static final class Listener implements AutoCloseable {
        final ServerSocketChannel server;
        final AtomicInteger accepted = new AtomicInteger();
        final List<String> received = new CopyOnWriteArrayList<>();

        Listener() throws IOException {
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
            Thread.ofPlatform().daemon().start(() -> {
                while (server.isOpen()) {
                    try (SocketChannel c = server.accept()) {
                        accepted.incrementAndGet();
                        ByteBuffer b = ByteBuffer.allocate(256);
                        c.socket().setSoTimeout(3000);
                        while (c.read(b) > 0 && b.hasRemaining()) {
                            // until the guest closes
                        }
                        received.add(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
                    } catch (IOException e) {
                        if (!server.isOpen()) {
                            return;
                        }
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
    static void agent() {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
    }

    @BeforeEach
    void listen() throws IOException {
        listener = new Listener();
    }

    @AfterEach
    void stop() throws IOException {
        listener.close();
    }

    Path policyFile(String yaml) throws IOException {
        return Files.writeString(dir.resolve("openclaw.exec.yaml"), yaml);
    }

    /** One blocked connect and one blocked write: exactly the two rules, verified, and they work. */
    @Test
    void proposesExactlyTheNeededRulesAndTheyWork() throws Exception {
        int port = listener.port();
        Path file = policyFile("""
                # the user's policy
                execution:
                  sandbox:
                    network:
                      policy: deny
                    filesystem:
                      writable: false
                  logging:
                    level: info
                    log_file: /workspace/sandbox.log
                """);
        byte[] original = Files.readAllBytes(file);
        String script = """
                import socket
                s = socket.create_connection(('127.0.0.1', %d), timeout=5)
                s.sendall(b'hello from the script')
                s.close()
                with open('/workspace/outputs/result.txt', 'w') as f:
                    f.write('done')
                print('finished')
                """.formatted(port);
        Policy real = PolicyLoader.load(file);
        LearnReport r = Learner.learn(real, script, "script.py", Learner.Options.defaults());

        assertEquals(List.of("network.policy: restricted",
                "network.allowlist: {cidr: \"127.0.0.1/32\", ports: [" + port + "]}",
                "filesystem.writable: true"), r.additions(), r.yaml());
        assertEquals(List.of(), r.refusals(), r.yaml());
        assertTrue(r.verified(), r.yaml());
        assertEquals(3, r.runs(), "one run per denial found, one to verify");
        assertTrue(r.last().ok(), r.last()::toString);
        String[] lines = r.yaml().split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (!line.startsWith("#") && !line.isBlank() && !line.endsWith(":") && !line.trim().startsWith("ports:")
                    && !line.trim().startsWith("#")) {
                boolean marked = line.contains("  # review: ") || lines[i - 1].trim().startsWith("# review: ");
                assertTrue(marked, "every addition is marked for review: " + line + "\n" + r.yaml());
            }
        }
        assertTrue(r.yaml().contains("# review: network connect 127.0.0.1:" + port + " (blocked by network.policy)"),
                r.yaml());
        // The shadow runs really connected (runs 2 and 3; run 1 was denied), and sent their bytes.
        assertEquals(2, listener.accepted.get());
        assertEquals(List.of("hello from the script", "hello from the script"), listener.received);
        assertArrayEquals(original, Files.readAllBytes(file), "the policy file is never written");
        assertTrue(PolicyOrder.allowsSubsetOf(real, r.proposed()));

        // Apply the printed fragment to the file (a copy), then run the script under it.
        Path merged = merge(file, r.yaml());
        Policy after = PolicyLoader.load(merged);
        assertEquals(r.proposed().network(), after.network());
        assertEquals(r.proposed().filesystem(), after.filesystem());
        try (Sandbox sb = Sandbox.builder().policy(after).workspaceRoot(dir.resolve("apply")).poolSize(0).build();
             Session s = sb.openSession("apply")) {
            ExecResult res = s.exec(script);
            assertTrue(res.ok(), res::toString);
            assertEquals(List.of(), res.blocked());
            assertEquals("finished\n", res.stdout());
            assertEquals("done", Files.readString(s.workspace().resolve("outputs/result.txt")));
        }
        assertEquals(3, listener.accepted.get());
        // And the user's policy still refuses the script.
        try (Sandbox sb = Sandbox.builder().policy(real).workspaceRoot(dir.resolve("real")).poolSize(0).build();
             Session s = sb.openSession("real")) {
            ExecResult res = s.exec(script);
            assertFalse(res.ok());
            assertEquals("network.policy", res.blocked().getFirst().policy());
        }
    }

    /**
     * A write outside the workspace stays denied in every shadow run (the host file is unchanged)
     * and is reported as not allowable; the connect is still proposed.
     */
    @Test
    void writesOutsideTheWorkspaceNeverHappenAndAreReportedNotProposed() throws Exception {
        int port = listener.port();
        // A host canary outside /tmp (the guest's /tmp is private).
        Path outside = Files.createDirectories(dev.cordon.OutsideDirs.root().resolve("learn-canary-" + System.nanoTime()));
        Path canary = outside.resolve("written-by-guest.txt");
        byte[] hosts = Files.readAllBytes(Path.of("/etc/hosts"));
        Path file = policyFile("""
                execution:
                  sandbox:
                    network: {policy: restricted, allowlist: [{domain: "api.example.com", ports: [443]}]}
                """);
        String script = """
                import socket
                socket.create_connection(('127.0.0.1', %d), timeout=5).close()
                try:
                    open('/etc/hosts', 'a').write('6.6.6.6 evil.example\\n')
                except PermissionError as e:
                    print('denied:', e)
                open(%s, 'w').write('escaped')
                """.formatted(port, ProposalYaml.q(canary.toString()));
        LearnReport r = Learner.learn(PolicyLoader.load(file), script, "script.py", Learner.Options.defaults());
        assertEquals(List.of("network.allowlist: {cidr: \"127.0.0.1/32\", ports: [" + port + "]}"), r.additions(),
                r.yaml());
        assertEquals(2, r.refusals().size(), r.yaml());
        assertTrue(r.refusals().get(0).startsWith("filesystem write /etc/hosts (filesystem.workspace_only)"),
                r.refusals().toString());
        assertTrue(r.refusals().get(1).startsWith("filesystem write " + canary + " (filesystem.workspace_only)"),
                r.refusals().toString());
        assertFalse(r.verified());
        assertTrue(r.yaml().contains("# Not allowed by any addition"), r.yaml());
        assertArrayEquals(hosts, Files.readAllBytes(Path.of("/etc/hosts")), "/etc/hosts unchanged");
        assertFalse(Files.exists(canary), "nothing written outside the workspace");
        try (var s = Files.list(outside)) {
            assertEquals(0, s.count());
        }
        assertEquals(2, r.runs());
        assertEquals(1, listener.accepted.get(), "run 2 connected; run 1 was denied");
    }

    /**
     * A name the policy does not allow: learn sees only the lookup, allows the name on every port
     * for one run, reads the port from the egress record, and proposes the name with that port;
     * a command (native tier) and an output limit are learned in the same way.
     */
    @Test
    void learnsANamesPortACommandAndALimit() throws Exception {
        boolean nativeOk = NativeTier.get().check().available();
        int port = listener.port();
        Path file = policyFile("""
                execution:
                  sandbox:
                    resources: {max_output_size_mb: 1}
                """);
        Files.writeString(dir.resolve("data.txt"), "abcdefghij");
        String script = """
                import socket, subprocess
                socket.create_connection(('localhost', %d), timeout=5).close()
                %s
                print('x' * (1536 * 1024))
                """.formatted(port, nativeOk
                ? "assert subprocess.run(['head', '-c', '4', '/workspace/uploads/data.txt'], capture_output=True).stdout == b'abcd'"
                : "pass");
        LearnReport r = Learner.learn(PolicyLoader.load(file), script, "script.py",
                new Learner.Options(null, List.of(dir.resolve("data.txt")), 12, System.err));
        List<String> want = new java.util.ArrayList<>(List.of("network.policy: restricted",
                "network.allowlist: {domain: \"localhost\", ports: [" + port + "]}"));
        if (nativeOk) {
            want.addAll(List.of("subprocess.allow: true", "subprocess.allowed_commands: head"));
        }
        want.add("resources.max_output_size_mb: 2");
        assertEquals(want, r.additions(), r.yaml());
        assertTrue(r.verified(), r.yaml());
        Path merged = merge(file, r.yaml());
        try (Sandbox sb = Sandbox.builder().policy(PolicyLoader.load(merged)).workspaceRoot(dir.resolve("apply"))
                .poolSize(0).build(); Session s = sb.openSession("apply")) {
            s.upload(dir.resolve("data.txt"));
            ExecResult res = s.exec(script);
            assertTrue(res.ok(), res::toString);
            assertEquals(List.of(), res.blocked());
        }
    }

    /** The CLI prints the fragment on stdout, a line per run on stderr, and exits 0 when verified. */
    @Test
    void cliPrintsTheFragmentAndExitsByVerification() throws Exception {
        Path file = policyFile("execution: {sandbox: {filesystem: {writable: false}}}\n");
        Path script = Files.writeString(dir.resolve("w.py"), "open('/workspace/x.txt', 'w').write('x')\n");
        var out = new java.io.ByteArrayOutputStream();
        var err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream o = System.out;
        java.io.PrintStream e = System.err;
        int code;
        try {
            System.setOut(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
            code = dev.cordon.cli.Main.run("learn", "--policy", file.toString(), script.toString());
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
        String stdout = out.toString(StandardCharsets.UTF_8);
        String stderr = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, stdout + stderr);
        assertTrue(stdout.contains("      writable: true  # review: was false; filesystem write /workspace/x.txt"
                + " (blocked by filesystem.writable)"), stdout);
        assertTrue(stderr.matches("(?s).*learn: run 1 \\(\\d+ ms\\): error PermissionError, blocked: filesystem write /workspace/x.txt.*"),
                stderr);
        assertTrue(stderr.matches("(?s).*learn: run 2 \\(\\d+ ms\\): ok, nothing blocked.*"), stderr);
        assertEquals("execution: {sandbox: {filesystem: {writable: false}}}\n", Files.readString(file));
    }

    /**
     * What a user does with the fragment: maps merged key by key, list entries appended, scalars
     * replaced; written to a new file next to the original.
     */
    Path merge(Path file, String fragment) throws IOException {
        JsonNode base = YAML.readTree(file.toFile());
        JsonNode add = YAML.readTree(fragment);
        if (add != null && !add.isMissingNode() && !add.isNull()) {
            mergeInto((ObjectNode) base, add);
        }
        Path out = dir.resolve("merged.yaml");
        YAML.writeValue(out.toFile(), base);
        return out;
    }

    static void mergeInto(ObjectNode base, JsonNode add) {
        for (Iterator<Map.Entry<String, JsonNode>> it = add.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = base.get(e.getKey());
            if (old instanceof ObjectNode o && e.getValue().isObject()) {
                mergeInto(o, e.getValue());
            } else if (old instanceof ArrayNode a && e.getValue().isArray()) {
                a.addAll((ArrayNode) e.getValue());
            } else {
                base.set(e.getKey(), e.getValue());
            }
        }
    }
}
