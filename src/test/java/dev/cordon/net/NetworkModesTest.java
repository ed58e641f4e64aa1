package dev.cordon.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.decision.Decision;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Cidr;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.io.IOAccess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Policy modes and the gate's lifecycle, each checked by what reaches a loopback listener. */
class NetworkModesTest {

    static Loopback.Tcp target;
    static final ObjectMapper JSON = new ObjectMapper();
    final List<Decision.Deny> denials = new CopyOnWriteArrayList<>();

    static final String HELPERS = """
            import socket, asyncio, json
            def attempt(f, *a):
                try:
                    return 'ok ' + str(f(*a))
                except BaseException as e:
                    return type(e).__name__ + ': ' + str(e)
            def talk(h, p):
                s = socket.create_connection((h, p), timeout=5)
                s.sendall(b'RAW\\n')
                r = s.recv(100).decode().strip()
                s.close()
                return r
            async def tick():
                await asyncio.sleep(0)
                return 'async'
            """;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(NetworkGate.available(), NetworkGate.unavailableReason());
        target = new Loopback.Tcp("127.0.0.2", "target");
    }

    @AfterAll
    static void stop() throws Exception {
        target.close();
    }

    static Cidr cidr(String text) {
        String[] p = text.split("/");
        return new Cidr(InetAddress.ofLiteral(p[0]).getAddress(), Integer.parseInt(p[1]), text);
    }

    Context context(NetworkGate g) {
        Context c = Guests.context(new ByteArrayOutputStream());
        if (g != null) {
            g.attach(c);
        }
        c.eval("python", HELPERS);
        return c;
    }

    static String py(Context c, String code) {
        return c.eval("python", code).asString();
    }

    @Test
    void noNetworkSectionDeniesEverythingButAsyncioStillRuns() {
        int before = target.accepted.get();
        NetworkGate g = new NetworkGate(Policy.DEFAULT, denials::add, Resolver.of(Map.of("api.test", List.of("127.0.0.2"))),
                EgressLog.NONE);
        try (Context c = context(g)) {
            String connect = py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port()));
            assertTrue(connect.startsWith("PermissionError: [Errno 13] Cordon blocked network connect 127.0.0.2:"), connect);
            assertTrue(connect.contains("(policy rule network.policy)"), connect);
            assertTrue(connect.contains("execution.sandbox.network: {policy: restricted, allowlist: [{cidr: \"127.0.0.2/32\""), connect);
            String resolve = py(c, "attempt(socket.getaddrinfo, 'api.test', 80)");
            assertTrue(resolve.contains("Cordon blocked network resolve api.test") && resolve.contains("network.policy"), resolve);
            assertEquals("ok async", py(c, "attempt(asyncio.run, tick())"));
            assertEquals("ok b'x'", py(c, "a, b = socket.socketpair(); a.send(b'x'); r = attempt(b.recv, 1); a.close(); b.close(); r"));
        } finally {
            g.close();
        }
        assertEquals(before, target.accepted.get());
    }

    @Test
    void permissiveAllowsEverythingAndRecordsIt() throws Exception {
        int before = target.accepted.get();
        Path egress = Files.createTempDirectory("cordon-egress").resolve("egress.jsonl");
        NetworkPolicy open = new NetworkPolicy(NetworkPolicy.Mode.PERMISSIVE, List.of(), false);
        // egress: false in logging, yet permissive records: that is its price
        Policy p = Policy.DEFAULT.withNetwork(open);
        assertThrows(IllegalArgumentException.class, () -> new NetworkGate(p, denials::add, Resolver.of(Map.of()), EgressLog.NONE));
        NetworkGate g = new NetworkGate(p, denials::add, Resolver.of(Map.of("anything.test", List.of("127.0.0.2"))),
                EgressLog.jsonl(egress, "perm"));
        try (Context c = context(g)) {
            assertEquals("ok ok target", py(c, "attempt(talk, 'anything.test', %d)".formatted(target.port())));
            assertEquals("ok ok target", py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port())));
            // listening is still governed by allow_listen
            String listen = py(c, "s = socket.socket(); r = attempt(lambda: (s.bind(('127.0.0.1', 0)), s.listen(), s.getsockname())); s.close(); r");
            assertTrue(listen.startsWith("ok"), listen);
            String fixed = py(c, "s = socket.socket(); r = attempt(lambda: (s.bind(('127.0.0.1', %d)), s.listen())); s.close(); r"
                    .formatted(NetworkCoverageTest.freePort()));
            assertTrue(fixed.contains("network.allow_listen"), fixed);
        } finally {
            g.close();
        }
        assertEquals(before + 2, target.accepted.get());
        List<JsonNode> entries = new ArrayList<>();
        for (String l : Files.readAllLines(egress)) {
            entries.add(JSON.readTree(l));
        }
        assertEquals(2, entries.size(), entries.toString());
        assertEquals("anything.test", entries.get(0).get("name").asText());
        assertEquals("network.permissive", entries.get(0).get("rule").asText());
        assertTrue(entries.get(1).get("name").isNull());
        assertEquals(4, entries.get(1).get("bytesOut").asLong());
    }

    @Test
    void allowListenServesLoopbackOnly() throws Exception {
        NetworkGate g = new NetworkGate(Policy.DEFAULT.withNetwork(
                new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(), true)), denials::add, Resolver.of(Map.of()),
                EgressLog.NONE);
        int port = NetworkCoverageTest.freePort();
        try (Context c = context(g)) {
            String wild = py(c, "s = socket.socket(); r = attempt(lambda: (s.bind(('0.0.0.0', %d)), s.listen())); s.close(); r"
                    .formatted(port));
            assertTrue(wild.contains("Cordon blocked network listen 0.0.0.0:" + port) && wild.contains("loopback only"), wild);
            assertEquals("ok None", py(c, "srv = socket.socket(); srv.bind(('127.0.0.1', %d)); attempt(srv.listen)".formatted(port)));
            try (SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
                client.write(ByteBuffer.wrap("hi".getBytes()));
                assertEquals("ok hi", py(c, "conn, _ = srv.accept(); r = attempt(lambda: conn.recv(10).decode()); conn.close(); r"));
            }
            // the guest reaches its own listener without any allowlist entry
            assertEquals("ok own", py(c, """
                    cl = socket.create_connection(('127.0.0.1', %d)); conn, _ = srv.accept()
                    cl.sendall(b'own'); r = attempt(lambda: conn.recv(10).decode()); cl.close(); conn.close(); srv.close(); r"""
                    .formatted(port)));
        } finally {
            g.close();
        }
    }

    @Test
    void detachedAndUnattachedContextsAreDeniedAndReattachWorks() {
        int before = target.accepted.get();
        NetworkPolicy allowTarget = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED,
                List.of(new NetworkPolicy.AllowEntry(null, cidr("127.0.0.2/32"), List.of(target.port()))), false);
        NetworkGate a = new NetworkGate(Policy.DEFAULT.withNetwork(allowTarget), denials::add, Resolver.of(Map.of()), EgressLog.NONE);
        NetworkGate b = new NetworkGate(Policy.DEFAULT.withNetwork(allowTarget), denials::add, Resolver.of(Map.of()), EgressLog.NONE);
        List<Decision.Deny> unattached = new CopyOnWriteArrayList<>();
        var previous = GuestRegistry.unattachedSink;
        GuestRegistry.unattachedSink = unattached::add;
        try (Context c = context(null)) {
            String never = py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port()));
            assertTrue(never.contains("Cordon blocked network connect") && never.contains("network.policy"), never);
            a.attach(c);
            assertEquals("ok ok target", py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port())));
            assertThrows(IllegalStateException.class, () -> b.attach(c), "a context belongs to one session");
            a.detach(c);
            String detached = py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port()));
            assertTrue(detached.contains("Cordon blocked network connect"), detached);
            b.attach(c);
            assertEquals("ok ok target", py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port())));
            // hot reload: the new policy applies to the next operation
            b.update(Policy.DEFAULT);
            String reloaded = py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port()));
            assertTrue(reloaded.contains("network.policy"), reloaded);
            b.close();
            String closed = py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port()));
            assertTrue(closed.contains("Cordon blocked network connect"), closed);
        } finally {
            GuestRegistry.unattachedSink = previous;
            a.close();
            b.close();
        }
        assertEquals(before + 2, target.accepted.get());
        assertEquals(3, unattached.size(), unattached.toString());
    }

    @Test
    void theApplicationsOwnContextsOnItsOwnThreadsAreUntouched() throws Exception {
        int before = target.accepted.get();
        try (Engine own = Engine.newBuilder("python").option("engine.WarnInterpreterOnly", "false").build();
                Context c = Context.newBuilder("python").engine(own)
                        .allowIO(IOAccess.newBuilder().allowHostSocketAccess(true).build())
                        .option("python.PosixModuleBackend", "java").build()) {
            c.eval("python", HELPERS);
            String[] r = new String[1];
            Thread t = Thread.ofPlatform().start(() -> r[0] = py(c, "attempt(talk, '127.0.0.2', %d)".formatted(target.port())));
            t.join();
            assertEquals("ok ok target", r[0]);
        }
        assertEquals(before + 1, target.accepted.get());
        assertTrue(SharedEngine.get().engine() != null);
    }

    @Test
    void closingTheGateRecordsConnectionsStillOpen() throws Exception {
        Path egress = Files.createTempDirectory("cordon-egress").resolve("egress.jsonl");
        NetworkPolicy allowTarget = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED,
                List.of(new NetworkPolicy.AllowEntry(null, cidr("127.0.0.2/32"), List.of(target.port()))), false);
        NetworkGate g = new NetworkGate(Policy.DEFAULT.withNetwork(allowTarget).withLogging(
                new LoggingPolicy(LoggingPolicy.Level.INFO, true, null, true, false)), denials::add, Resolver.of(Map.of()),
                EgressLog.jsonl(egress, "s"));
        try (Context c = context(g)) {
            py(c, "kept = socket.create_connection(('127.0.0.2', %d)); kept.sendall(b'RAW\\n'); 'x'".formatted(target.port()));
            g.close();
            JsonNode e = JSON.readTree(Files.readAllLines(egress).get(0));
            assertTrue(e.get("open").asBoolean(), e.toString());
            assertEquals(4, e.get("bytesOut").asLong());
            assertEquals(0, g.trackedCount());
        }
    }
}
