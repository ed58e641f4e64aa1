package dev.cordon.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.decision.Decision;
import dev.cordon.policy.Cidr;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.NetworkPolicy.AllowEntry;
import dev.cordon.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.graalvm.polyglot.Context;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 3, sections 5 and 6: HTTPS to an allowlisted name with hostname verification on (a test CA
 * made by the test, trusted through the context's cafile), redirects to denied hosts stopped at
 * their connect or lookup, and the egress log of allowed connections.
 */
class TlsEgressTest {

    static TestTls tls;
    static TestTls.Server server;
    static Loopback.Tcp denied;
    static Loopback.Tcp plain;
    static Path dir;
    static Path egressFile;
    static Context context;
    static NetworkGate gate;
    static final List<Decision.Deny> denials = new CopyOnWriteArrayList<>();
    static final ByteArrayOutputStream out = new ByteArrayOutputStream();
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        assertTrue(NetworkGate.available(), NetworkGate.unavailableReason());
        dir = Files.createTempDirectory("cordon-tls");
        tls = new TestTls(dir);
        denied = new Loopback.Tcp("127.0.0.2", "must not be reached");
        plain = new Loopback.Tcp("127.0.0.1", "plain body");
        int[] port = new int[1];
        server = tls.server("api.test", path -> switch (path) {
            case "/to-ip" -> TestTls.redirect("http://127.0.0.2:" + denied.port() + "/");
            case "/to-name" -> TestTls.redirect("http://evil.test:" + denied.port() + "/");
            case "/to-self" -> TestTls.redirect("https://api.test:" + port[0] + "/");
            default -> TestTls.ok("secure hello");
        });
        port[0] = server.port();
        NetworkPolicy net = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
                new AllowEntry("api.test", null, List.of(server.port())),
                new AllowEntry("other.test", null, List.of(server.port())),
                new AllowEntry(null, new Cidr(InetAddress.ofLiteral("127.0.0.1").getAddress(), 32, "127.0.0.1/32"),
                        List.of(plain.port()))), false);
        LoggingPolicy logging = new LoggingPolicy(LoggingPolicy.Level.INFO, true, null, true, true);
        egressFile = dir.resolve("egress.jsonl");
        gate = new NetworkGate(Policy.DEFAULT.withNetwork(net).withLogging(logging), denials::add,
                Resolver.of(Map.of("api.test", List.of("127.0.0.1"), "other.test", List.of("127.0.0.1"),
                        "evil.test", List.of("127.0.0.2"))),
                EgressLog.jsonl(egressFile, "tls-session"));
        context = Guests.context(out);
        gate.attach(context);
        context.eval("python", """
                import ssl, urllib.request, urllib.error, http.client, socket, json
                CA = %s
                def get(url, cafile=CA):
                    ctx = ssl.create_default_context(cafile=cafile)
                    try:
                        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
                            return 'ok ' + r.read().decode()
                    except BaseException as e:
                        return type(e).__name__ + ': ' + str(e)
                """.formatted(pyStr(tls.caPem.toString())));
    }

    static String pyStr(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    @AfterAll
    static void stop() throws Exception {
        if (context != null) {
            gate.detach(context);
            context.close(true);
        }
        gate.close();
        server.close();
        denied.close();
        plain.close();
    }

    static String py(String code) {
        return context.eval("python", code).asString();
    }

    @Test
    void httpsToAnAllowlistedNameWorksWithVerificationOn() {
        assertEquals("True CERT_REQUIRED", py("""
                c = ssl.create_default_context(cafile=CA)
                '%s %s' % (c.check_hostname, c.verify_mode.name)"""));
        assertEquals("ok secure hello", py("get('https://api.test:%d/')".formatted(server.port())), out::toString);
        assertEquals("ok secure hello", py("""
                c = http.client.HTTPSConnection('api.test', %d, context=ssl.create_default_context(cafile=CA), timeout=10)
                c.request('GET', '/')
                r = 'ok ' + c.getresponse().read().decode()
                c.close()
                r""".formatted(server.port())));
        assertEquals("ok secure hello", py("get('https://api.test:%d/to-self')".formatted(server.port())));
    }

    @Test
    void verificationRejectsAWrongNameAndAnUnknownCa() {
        // other.test is allowed and resolves to the same server, whose certificate names api.test only
        String wrongName = py("get('https://other.test:%d/')".formatted(server.port()));
        assertTrue(wrongName.contains("CERTIFICATE_VERIFY_FAILED") || wrongName.contains("SSLCertVerificationError")
                || wrongName.contains("hostname"), wrongName);
        assertFalse(wrongName.startsWith("ok"), wrongName);
        String unknownCa = py("get('https://api.test:%d/', cafile=None)".formatted(server.port()));
        assertFalse(unknownCa.startsWith("ok"), unknownCa);
        assertTrue(unknownCa.contains("CERTIFICATE_VERIFY_FAILED") || unknownCa.contains("SSL"), unknownCa);
    }

    @Test
    void redirectToADeniedAddressIsDeniedAtItsConnect() {
        String r = py("get('https://api.test:%d/to-ip')".formatted(server.port()));
        assertTrue(r.contains("Cordon blocked network connect 127.0.0.2:" + denied.port()), r);
        assertTrue(r.contains("network.restricted"), r);
        String n = py("get('https://api.test:%d/to-name')".formatted(server.port()));
        assertTrue(n.contains("Cordon blocked network resolve evil.test"), n);
        assertEquals(0, denied.accepted.get(), "connections that reached the redirect target");
        assertTrue(denials.stream().anyMatch(d -> d.blockedLine().equals(
                "[BLOCKED] syscall=connect dest=127.0.0.2:" + denied.port() + " policy=network.restricted")));
    }

    @Test
    void egressLogRecordsAllowedConnections() throws Exception {
        int before = lines().size();
        assertEquals("ok secure hello", py("get('https://api.test:%d/')".formatted(server.port())));
        assertEquals("ok plain body", py("""
                c = http.client.HTTPConnection('127.0.0.1', %d, timeout=10)
                c.request('GET', '/egress-check')
                r = 'ok ' + c.getresponse().read().decode()
                c.close()
                r""".formatted(plain.port())));
        List<JsonNode> entries = waitForLines(before + 2);
        JsonNode https = entries.stream().filter(e -> "api.test".equals(e.path("name").asText(null))).reduce((a, b) -> b).orElse(null);
        assertNotNull(https, entries.toString());
        assertEquals("tls-session", https.get("session").asText());
        assertEquals("tcp", https.get("transport").asText());
        assertEquals("127.0.0.1", https.get("address").asText());
        assertEquals(server.port(), https.get("port").asInt());
        assertEquals("network.allowlist[0]", https.get("rule").asText());
        assertTrue(https.get("tls").asBoolean());
        assertEquals("api.test", https.get("sni").asText());
        assertTrue(https.get("bytesOut").asLong() > 100, https.toString());
        assertTrue(https.get("bytesIn").asLong() > 100, https.toString());
        assertTrue(https.get("durationMs").asLong() >= 0);
        assertNull(https.get("bodyOut"), "TLS bodies are ciphertext: not kept");
        JsonNode http = entries.stream().filter(e -> e.get("port").asInt() == plain.port()
                && e.path("bodyOut").asText().contains("/egress-check")).reduce((a, b) -> b).orElse(null);
        assertNotNull(http, entries.toString());
        assertTrue(http.get("name").isNull(), "an IP literal has no name: " + http);
        assertTrue(http.get("bodyOut").asText().startsWith("GET /egress-check HTTP/1.1\r\n"), http.toString());
        assertTrue(http.get("bodyIn").asText().endsWith("plain body"), http.toString());
        assertEquals(http.get("bodyOut").asText().length(), http.get("bytesOut").asLong());
    }

    @Test
    void bodiesAreCutAtTheLimit() throws Exception {
        int before = lines().size();
        assertEquals("sent", py("""
                s = socket.create_connection(('127.0.0.1', %d))
                s.sendall(b'X' * 40000)
                s.close()
                'sent'""".formatted(plain.port())));
        List<JsonNode> entries = waitForLines(before + 1);
        JsonNode e = entries.get(entries.size() - 1);
        assertEquals(40000, e.get("bytesOut").asLong(), e.toString());
        assertEquals(EgressLog.BODY_LIMIT, e.get("bodyOut").asText().length());
    }

    static List<JsonNode> waitForLines(int n) throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        List<JsonNode> l = lines();
        while (l.size() < n && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            l = lines();
        }
        assertTrue(l.size() >= n, "egress entries: " + l);
        return l;
    }

    static List<JsonNode> lines() throws Exception {
        List<JsonNode> out = new ArrayList<>();
        if (Files.exists(egressFile)) {
            for (String line : Files.readAllLines(egressFile)) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }
}
