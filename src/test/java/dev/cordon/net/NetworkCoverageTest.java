package dev.cordon.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.agent.CordonAgent;
import dev.cordon.audit.Audit;
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
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.graalvm.polyglot.Context;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 3, sections 1 and 3, proven from outside: loopback listeners count what reaches them.
 * Every Python path of section 1 is tried against allowed and denied targets in one guest; the
 * denied listeners must stay at zero, the allowed one must see every allowed attempt.
 */
class NetworkCoverageTest {

    static Loopback.Tcp ok;
    static Loopback.Tcp badPort;
    static Loopback.Tcp bad2;
    static Loopback.Tcp bad6;
    static Loopback.Udp udpOk;
    static Loopback.Udp udpBad;
    static final List<String> resolved = new CopyOnWriteArrayList<>();
    static final List<Decision.Deny> denials = new CopyOnWriteArrayList<>();
    static Path logFile;
    static Context context;
    static NetworkGate gate;
    static final ByteArrayOutputStream out = new ByteArrayOutputStream();
    static Map<String, String> matrix;
    static final ObjectMapper JSON = new ObjectMapper();

    static Cidr cidr(String text) {
        String[] p = text.split("/");
        return new Cidr(InetAddress.ofLiteral(p[0]).getAddress(), Integer.parseInt(p[1]), text);
    }

    @BeforeAll
    static void start() throws Exception {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent.failure());
        assertTrue(NetworkGate.available(), NetworkGate.unavailableReason());
        ok = new Loopback.Tcp("127.0.0.1", "allowed");
        badPort = new Loopback.Tcp("127.0.0.1", "wrong port");
        bad2 = new Loopback.Tcp("127.0.0.2", "other address");
        bad6 = new Loopback.Tcp("::1", "ipv6");
        udpOk = new Loopback.Udp("127.0.0.1");
        udpBad = new Loopback.Udp("127.0.0.2");
        NetworkPolicy net = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
                new AllowEntry(null, cidr("127.0.0.1/32"), List.of(ok.port())),
                new AllowEntry("API.test", null, List.of(ok.port())),
                new AllowEntry(null, cidr("127.0.0.1/32"), List.of(udpOk.port()))), false);
        logFile = Files.createTempDirectory("cordon-net").resolve("sandbox.log");
        LoggingPolicy logging = new LoggingPolicy(LoggingPolicy.Level.INFO, true, "/workspace/sandbox.log", false, false);
        Audit audit = new Audit("cov", logging, logFile, null);
        Resolver table = Resolver.of(Map.of("api.test", List.of("127.0.0.1"), "evil.test", List.of("127.0.0.2"),
                "v6.test", List.of("::1")));
        gate = new NetworkGate(Policy.DEFAULT.withNetwork(net).withLogging(logging), d -> {
            denials.add(d);
            audit.blocked(d);
        }, name -> {
            resolved.add(name);
            return table.resolve(name);
        }, EgressLog.NONE);
        context = Guests.context(out);
        gate.attach(context);
        context.eval("python", PyPaths.HARNESS);
        String targets = "[('127.0.0.1', %d), ('api.test', %d), ('127.0.0.1', %d), ('127.0.0.2', %d), ('::1', %d), ('api.test', %d)]"
                .formatted(ok.port(), ok.port(), badPort.port(), bad2.port(), bad6.port(), badPort.port());
        String json = context.eval("python", "run(" + targets + ")").asString();
        matrix = new TreeMap<>(JSON.readValue(json, Map.class));
    }

    @AfterAll
    static void stop() throws Exception {
        if (context != null) {
            gate.detach(context);
            context.close(true);
        }
        gate.close();
        for (AutoCloseable c : new AutoCloseable[] {ok, badPort, bad2, bad6, udpOk, udpBad}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static String py(String code) {
        return context.eval("python", code).asString();
    }

    static List<String> pathNames() {
        List<String> names = new ArrayList<>();
        for (String k : matrix.keySet()) {
            String name = k.split(" ")[0];
            if (!names.contains(name)) {
                names.add(name);
            }
        }
        return names;
    }

    @Test
    void everyPathReachesTheAllowedTarget() {
        List<String> paths = pathNames();
        assertTrue(paths.size() >= 16, "paths tried: " + paths);
        for (String path : paths) {
            for (String host : List.of("127.0.0.1", "api.test")) {
                String r = matrix.get(path + " " + host + " " + ok.port());
                assertTrue(r.startsWith("ok"), path + " to " + host + ": " + r + "\n" + out);
                if (!path.equals("ssl")) {
                    assertTrue(r.contains("allowed"), path + ": " + r);
                }
            }
        }
    }

    @Test
    void noPathReachesADeniedTarget() {
        assertEquals(0, badPort.accepted.get(), "connections to a port not in the allowlist");
        assertEquals(0, bad2.accepted.get(), "connections to 127.0.0.2");
        assertEquals(0, bad6.accepted.get(), "connections to ::1");
        for (String path : pathNames()) {
            for (String target : List.of("127.0.0.1 " + badPort.port(), "127.0.0.2 " + bad2.port(), "::1 " + bad6.port(),
                    "api.test " + badPort.port())) {
                String r = matrix.get(path + " " + target);
                assertTrue(r.contains("Cordon blocked network connect") || r.equals("errno 13 EACCES"),
                        path + " to " + target + ": " + r);
                assertFalse(r.startsWith("ok"), r);
            }
        }
    }

    @Test
    void denialsArePermissionErrorsWithRuleAndFix() {
        String r = matrix.get("socket 127.0.0.2 " + bad2.port());
        assertTrue(r.startsWith("PermissionError: [Errno 13] Cordon blocked network connect 127.0.0.2:" + bad2.port()), r);
        assertTrue(r.contains("(policy rule network.restricted)"), r);
        assertTrue(r.contains("add {cidr: \"127.0.0.2/32\", ports: [" + bad2.port() + "]} to execution.sandbox.network.allowlist"), r);
        String byName = matrix.get("create_connection api.test " + badPort.port());
        assertTrue(byName.contains("127.0.0.1:" + badPort.port() + " (api.test)"), byName);
        assertTrue(byName.contains("(policy rule network.allowlist)"), byName);
        assertTrue(byName.contains("{domain: \"api.test\", ports: [" + ok.port() + ", " + badPort.port() + "]}"), byName);
        // except Exception catches it (PermissionError is an OSError, not a foreign exception)
        assertEquals("caught", py("""
                try:
                    socket.create_connection(('127.0.0.2', %d))
                    r = 'connected'
                except Exception as e:
                    r = 'caught' if isinstance(e, PermissionError) else repr(e)
                r""".formatted(bad2.port())));
    }

    @Test
    void oddLiteralFormsAreNormalisedBeforeMatching() throws Exception {
        int before = ok.accepted.get();
        String denied = py("""
                json.dumps({f: attempt(via_create_connection, f, %d) for f in
                    ['127.0.0.2', '2130706434', '0x7f000002', '0X7F000002', '0177.0.0.2', '127.2', '127.0.2', '0x7f.2',
                     '::ffff:127.0.0.2', '::ffff:7f00:2', '0:0:0:0:0:ffff:7f00:2']}
                   | {'inet6 ' + f: attempt(via_socket, f, %d) for f in ['::ffff:127.0.0.2', '::ffff:7f00:2']})
                """.formatted(bad2.port(), bad2.port()));
        Map<String, String> d = JSON.readValue(denied, Map.class);
        assertEquals(13, d.size());
        d.forEach((form, r) -> assertTrue(r.contains("Cordon blocked network connect 127.0.0.2:" + bad2.port()),
                form + ": " + r));
        assertEquals(0, bad2.accepted.get());
        // The same spellings of the allowed address connect: the decision is made on the address the
        // kernel gets, not on the text (glibc semantics: 0177 is octal, as CPython on Linux).
        String allowed = py("""
                json.dumps({f: attempt(via_create_connection, f, %d) for f in
                    ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '::ffff:127.0.0.1']})
                """.formatted(ok.port()));
        Map<String, String> a = JSON.readValue(allowed, Map.class);
        a.forEach((form, r) -> assertEquals("ok ok allowed", r, form));
        assertEquals(before + 5, ok.accepted.get());
    }

    @Test
    void namesOutsideTheAllowlistAreNeverResolved() throws Exception {
        py("""
                def gai_type():
                    try:
                        socket.getaddrinfo('evil.test', 1)
                    except socket.gaierror as e:
                        return 'gaierror %d' % e.errno
                    return 'resolved'
                'ok'""");
        String r = py("""
                json.dumps({
                  'getaddrinfo': attempt(socket.getaddrinfo, 'evil.test', 80),
                  'gethostbyname': attempt(socket.gethostbyname, 'evil.test'),
                  'gethostbyname_ex': attempt(socket.gethostbyname_ex, 'evil.test'),
                  'create_connection': attempt(via_create_connection, 'evil.test', %d),
                  'urllib': attempt(via_urllib, 'evil.test', %d),
                  'http.client': attempt(via_http_client, 'evil.test', %d),
                  'asyncio': attempt(via_asyncio, 'evil.test', %d),
                  'thread': attempt(via_thread, 'evil.test', %d),
                  'upper+dot': attempt(socket.getaddrinfo, 'EVIL.TEST.', 80),
                  'idna': attempt(socket.getaddrinfo, 'évil.test', 80),
                  'unknown': attempt(socket.getaddrinfo, 'nothing.test', 80),
                  'localhost': attempt(socket.getaddrinfo, 'localhost', 80),
                  'allowed': attempt(lambda: str(sorted({a[4][0] for a in socket.getaddrinfo('API.Test.', 80)}))),
                  'except gaierror': attempt(gai_type),
                })
                """.formatted(bad2.port(), bad2.port(), bad2.port(), bad2.port(), bad2.port())
                );
        Map<String, String> m = JSON.readValue(r, Map.class);
        for (String k : List.of("getaddrinfo", "gethostbyname", "gethostbyname_ex", "upper+dot")) {
            // gethostbyname_ex raises socket.herror (GraalPy's choice), with the same message
            String type = k.equals("gethostbyname_ex") ? "herror: " : "gaierror: [Errno -2] ";
            assertTrue(m.get(k).startsWith(type + "Cordon blocked network resolve evil.test"), k + ": " + m.get(k));
            assertTrue(m.get(k).contains("(policy rule network.restricted)"), m.get(k));
            assertTrue(m.get(k).contains("add {domain: \"evil.test\""), m.get(k));
        }
        for (String k : List.of("create_connection", "urllib", "http.client", "asyncio", "thread")) {
            assertTrue(m.get(k).contains("Cordon blocked network resolve evil.test"), k + ": " + m.get(k));
        }
        assertTrue(m.get("idna").contains("Cordon blocked network resolve xn--vil-9la.test"), m.get("idna"));
        assertTrue(m.get("unknown").contains("Cordon blocked network resolve nothing.test"), m.get("unknown"));
        assertTrue(m.get("localhost").contains("Cordon blocked network resolve localhost"), m.get("localhost"));
        assertEquals("['127.0.0.1']", m.get("allowed"));
        assertEquals("gaierror -2", m.get("except gaierror"));
        assertFalse(resolved.contains("evil.test"), "a denied name reached the resolver: " + resolved);
        assertFalse(resolved.contains("xn--vil-9la.test"), String.valueOf(resolved));
        assertFalse(resolved.contains("nothing.test"), String.valueOf(resolved));
        assertFalse(resolved.contains("localhost"), String.valueOf(resolved));
        assertTrue(resolved.contains("api.test"), String.valueOf(resolved));
        assertEquals(0, bad2.accepted.get());
    }

    @Test
    void datagramsGoOnlyWhereAllowed() throws Exception {
        String r = py("""
                def udp_sendto(h, p):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    try:
                        return 'ok %%d' %% s.sendto(b'x' * 10, (h, p))
                    finally:
                        s.close()
                def udp_connect(h, p):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    try:
                        s.connect((h, p))
                        return 'ok %%d' %% s.send(b'y' * 10)
                    finally:
                        s.close()
                def udp_thread(h, p):
                    out = []
                    t = threading.Thread(target=lambda: out.append(attempt(udp_sendto, h, p)))
                    t.start(); t.join(10)
                    return out[0]
                def udp_asyncio(h, p):
                    async def main():
                        loop = asyncio.get_running_loop()
                        tr, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=(h, p))
                        tr.sendto(b'z' * 10)
                        tr.close()
                        return 'ok sent'
                    return asyncio.run(main())
                json.dumps({name + ' ' + h: attempt(f, h, p) for name, f in
                            [('sendto', udp_sendto), ('connect', udp_connect), ('thread', udp_thread), ('asyncio', udp_asyncio)]
                            for h, p in [('127.0.0.1', %d), ('127.0.0.2', %d), ('0x7f000002', %d)]})
                """.formatted(udpOk.port(), udpBad.port(), udpBad.port()));
        Map<String, String> m = JSON.readValue(r, Map.class);
        for (String k : m.keySet()) {
            if (k.endsWith("127.0.0.1")) {
                assertTrue(m.get(k).startsWith("ok"), k + ": " + m.get(k));
            } else {
                assertTrue(m.get(k).contains("Cordon blocked network"), k + ": " + m.get(k));
            }
        }
        assertTrue(m.get("sendto 127.0.0.2").contains("Cordon blocked network sendto 127.0.0.2:" + udpBad.port()), m.get("sendto 127.0.0.2"));
        long deadline = System.currentTimeMillis() + 3000;
        while (udpOk.received.get() < 4 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(4, udpOk.received.get(), "datagrams that reached the allowed receiver");
        Thread.sleep(200);
        assertEquals(0, udpBad.received.get(), "datagrams that reached the denied receiver");
    }

    @Test
    void socketpairAndEphemeralListenersWorkWithoutListening() throws Exception {
        assertEquals("ok b'ping'", py("""
                a, b = socket.socketpair()
                a.sendall(b'ping')
                r = 'ok ' + repr(b.recv(10))
                a.close(); b.close()
                r"""));
        // listening on a fixed port, or on all interfaces, is refused
        String fixed = py("""
                def listen(addr):
                    s = socket.socket()
                    try:
                        s.bind(addr); s.listen(); return 'ok listening'
                    finally:
                        s.close()
                attempt(listen, ('127.0.0.1', %d))""".formatted(freePort()));
        assertTrue(fixed.contains("Cordon blocked network listen 127.0.0.1:") && fixed.contains("network.allow_listen"), fixed);
        String wild = py("attempt(listen, ('0.0.0.0', 0))");
        assertTrue(wild.contains("Cordon blocked network listen") && wild.contains("allow_listen: true"), wild);
        // an ephemeral loopback listener accepts the session's own connection (socketpair) but no
        // connection from outside the session
        int port = Integer.parseInt(py("""
                lsock = socket.socket()
                lsock.bind(('127.0.0.1', 0))
                lsock.listen()
                str(lsock.getsockname()[1])"""));
        try (java.nio.channels.SocketChannel outsider = java.nio.channels.SocketChannel.open(
                new java.net.InetSocketAddress("127.0.0.1", port))) {
            String accepted = py("attempt(lambda: lsock.accept())");
            assertTrue(accepted.contains("Cordon blocked network accept"), accepted);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            outsider.socket().setSoTimeout(2000);
            assertEquals(-1, outsider.read(b), "the refused connection is closed, no byte was sent");
        }
        assertEquals("ok own", py("""
                c = socket.create_connection(('127.0.0.1', lsock.getsockname()[1]))
                s2, _ = lsock.accept()
                c.sendall(b'own'); r = 'ok ' + s2.recv(10).decode()
                c.close(); s2.close(); lsock.close()
                r"""));
        // once closed, its port is forgotten: connecting there is an ordinary (denied) connection
        String after = py("attempt(via_socket, '127.0.0.1', %d)".formatted(port));
        assertTrue(after.contains("Cordon blocked network connect 127.0.0.1:" + port), after);
    }

    @Test
    void logLinesMatchTheGuide() throws Exception {
        py("attempt(socket.getaddrinfo, 'evil.test', 80)");
        List<String> lines = Files.readAllLines(logFile);
        assertFalse(lines.isEmpty());
        Pattern guide = Pattern.compile("^\\S+ session=cov \\[BLOCKED\\] syscall=(connect|sendto|resolve|listen|accept) "
                + "dest=\\S+( \\(\\S+\\))? policy=network\\.(restricted|allowlist|policy|allow_listen)$");
        for (String l : lines) {
            assertTrue(guide.matcher(l).matches(), l);
        }
        String expected = "[BLOCKED] syscall=connect dest=127.0.0.2:" + bad2.port() + " policy=network.restricted";
        assertTrue(lines.stream().anyMatch(l -> l.endsWith(" " + expected)), expected + " in\n" + String.join("\n", lines));
        assertTrue(lines.stream().anyMatch(l -> l.endsWith("[BLOCKED] syscall=connect dest=127.0.0.1:" + badPort.port()
                + " (api.test) policy=network.allowlist")), String.join("\n", lines));
        assertTrue(lines.stream().anyMatch(l -> l.endsWith("[BLOCKED] syscall=resolve dest=evil.test policy=network.restricted")));
        assertTrue(denials.stream().allMatch(d -> d.category() == Decision.Category.NETWORK));
    }

    @Test
    void hostSocketsDuringAGuestCallAreUntouched() throws Exception {
        try (Loopback.Tcp other = new Loopback.Tcp("127.0.0.2", "host only")) {
            String[] guestResult = new String[1];
            Thread guest = Thread.ofPlatform().start(() -> guestResult[0] = py("""
                    r = attempt(via_socket, '127.0.0.2', %d)
                    import time; time.sleep(1.5)
                    r""".formatted(other.port())));
            Thread.sleep(500);
            // the test thread is the embedding application: 127.0.0.2 is denied to the guest, not to it
            try (java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(
                    new java.net.InetSocketAddress(other.host(), other.port()))) {
                c.write(java.nio.ByteBuffer.wrap("RAW\n".getBytes()));
                java.nio.ByteBuffer reply = java.nio.ByteBuffer.allocate(100);
                c.read(reply);
                assertEquals("ok host only\n", new String(reply.array(), 0, reply.position()));
            }
            assertEquals("127.0.0.2", InetAddress.getByName("127.0.0.2").getHostAddress());
            guest.join();
            assertTrue(guestResult[0].contains("Cordon blocked network connect 127.0.0.2"), guestResult[0]);
            assertEquals(1, other.accepted.get(), "only the host's own connection");
        }
    }

    static int freePort() throws Exception {
        try (var s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
