package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.cordon.ExecResult;
import dev.cordon.decision.Decision;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Egress of the native tier: only through the host proxy, which asks the gate first about the name
 * (before resolving) and then about the address. Loopback listeners count what reached them: the
 * denied ones must stay at zero.
 */
class EgressProxyTest {

    static HttpServer allowed;
    static final AtomicInteger allowedHits = new AtomicInteger();
    static ServerSocket denied;
    static final AtomicInteger deniedAccepts = new AtomicInteger();
    static final Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
    static final List<EgressProxy.Connection> egressLog = new CopyOnWriteArrayList<>();
    static Path dir;
    static TestPolicies.Recorder audit = new TestPolicies.Recorder();
    static NativeWorkspace ws;
    static NativeSession session;
    static NativeProcessHandler gate;
    static Policy policy;

    /** A stand-in for NetworkDecisions: names and ports from a fixed allowlist. */
    static final class AllowlistGate implements EgressGate {
        final Set<String> names;
        final int port;

        AllowlistGate(Set<String> names, int port) {
            this.names = names;
            this.port = port;
        }

        @Override
        public Decision decideName(String host, int p) {
            return names.contains(host) ? Decision.allow("network.allowlist[0]")
                    : new Decision.Deny(Decision.Category.NETWORK, "resolve", host + ":" + p, "network.allowlist",
                    host + " matches no allowlist entry", "add {domain: \"" + host + "\", ports: [" + p + "]}");
        }

        @Override
        public Decision decide(String host, InetAddress a, int p) {
            boolean ok = host != null && names.contains(host) && p == port;
            return ok ? Decision.allow("network.allowlist[0]")
                    : new Decision.Deny(Decision.Category.NETWORK, "connect",
                    a.getHostAddress() + ":" + p + (host == null ? "" : " (" + host + ")"), "network.restricted",
                    "no allowlist entry allows it", "add {domain: \"" + host + "\", ports: [" + p + "]}");
        }
    }

    @BeforeAll
    static void start() throws Exception {
        allowed = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        allowed.createContext("/", ex -> {
            allowedHits.incrementAndGet();
            byte[] body = ("hello from " + ex.getRequestHeaders().getFirst("Host")).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        allowed.start();
        denied = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!denied.isClosed()) {
                try (Socket s = denied.accept()) {
                    deniedAccepts.incrementAndGet();
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        int okPort = allowed.getAddress().getPort();
        EgressGate.Resolver resolver = host -> {
            lookups.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
            if (host.endsWith(".test")) {
                return List.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}));
            }
            throw new UnknownHostException(host);
        };
        policy = TestPolicies.dataAgent().withNetwork(new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED,
                List.of(new NetworkPolicy.AllowEntry("api.test", null, List.of(okPort))), false));
        dir = Files.createTempDirectory("cordon-egress-");
        ws = NativeWorkspace.open(NativeTier.get(), policy.filesystem(), dir);
        ws.startEgress(new AllowlistGate(Set.of("api.test", "other.test"), okPort), resolver, audit, egressLog::add);
        session = NativeSession.create("egress", policy, ws, audit);
        gate = new NativeProcessHandler(policy, ws, audit, null, null);
    }

    @AfterAll
    static void stop() {
        gate.close();
        session.close();
        ws.close();
        allowed.stop(0);
        try {
            denied.close();
        } catch (IOException e) {
            // closing
        }
        NativeWorkspace.deleteTree(dir);
    }

    static int okPort() {
        return allowed.getAddress().getPort();
    }

    @Test
    void httpThroughTheProxyReachesOnlyAllowedDestinations() {
        int before = allowedHits.get();
        ExecResult ok = session.exec("""
                import urllib.request
                print(urllib.request.urlopen('http://api.test:%d/x').read().decode())
                """.formatted(okPort()));
        assertEquals(ExecResult.Status.OK, ok.status(), ok.toString());
        assertEquals("hello from api.test:" + okPort() + "\n", ok.stdout());
        assertEquals(before + 1, allowedHits.get());

        ExecResult no = session.exec("""
                import urllib.request, urllib.error
                try:
                    urllib.request.urlopen('http://other.test:%d/')
                except urllib.error.HTTPError as e:
                    print(e.code, e.headers['X-Cordon-Blocked'], e.read().decode().strip()[:60])
                """.formatted(denied.getLocalPort()));
        assertTrue(no.stdout().startsWith("403 network.restricted Cordon blocked network connect 127.0.0.1:"),
                no.toString());
        assertEquals(0, deniedAccepts.get());
        assertTrue(audit.lines().contains("[BLOCKED] syscall=connect dest=127.0.0.1:" + denied.getLocalPort()
                + " (other.test) policy=network.restricted"), audit.lines().toString());
    }

    @Test
    void namesNoRuleAllowsAreNeverResolved() {
        ExecResult r = session.exec("""
                import urllib.request, urllib.error
                try:
                    urllib.request.urlopen('http://exfil-secret-data.test:%d/')
                except urllib.error.HTTPError as e:
                    print(e.code)
                """.formatted(okPort()));
        assertEquals("403\n", r.stdout(), r.toString());
        assertFalse(lookups.containsKey("exfil-secret-data.test"), "looked up: " + lookups.keySet());
        assertTrue(audit.lines().contains("[BLOCKED] syscall=resolve dest=exfil-secret-data.test:" + okPort()
                + " policy=network.allowlist"), audit.lines().toString());
    }

    @Test
    void connectAndSocks5AreDecidedTheSameWay() {
        ExecResult r = session.exec("""
                import socket, struct
                def connect_tunnel(host, port):
                    s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
                    s.sendall(b'CONNECT %%s:%%d HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' %% (host.encode(), port))
                    head = s.recv(4096).split(b'\\r\\n')[0].decode()
                    if ' 200 ' in head:
                        s.sendall(b'GET / HTTP/1.0\\r\\nHost: api.test\\r\\n\\r\\n')
                        body = b''
                        while True:
                            b = s.recv(4096)
                            if not b: break
                            body += b
                        return head + ' | ' + body.split(b'\\r\\n\\r\\n', 1)[1].decode()
                    return head
                def socks(host, port):
                    s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
                    s.sendall(b'\\x05\\x01\\x00'); s.recv(2)
                    s.sendall(b'\\x05\\x01\\x00\\x03' + bytes([len(host)]) + host.encode() + struct.pack('>H', port))
                    rep = s.recv(10)
                    return rep[1]
                print(connect_tunnel('api.test', %1$d))
                print(connect_tunnel('other.test', %2$d))
                print(connect_tunnel('127.0.0.1', %2$d))
                print(socks('api.test', %1$d), socks('other.test', %2$d), socks('nope.test', %1$d))
                """.formatted(okPort(), denied.getLocalPort()));
        String[] lines = r.stdout().split("\n");
        assertEquals("HTTP/1.1 200 Connection established | hello from api.test", lines[0], r.toString());
        assertEquals("HTTP/1.1 403 Forbidden", lines[1]);
        assertEquals("HTTP/1.1 403 Forbidden", lines[2]); // an IP literal is not a name on the list
        assertEquals("0 2 2", lines[3]);
        assertEquals(0, deniedAccepts.get());
    }

    @Test
    void theProxyIsTheOnlyWayOut() {
        int hits = allowedHits.get();
        ExecResult r = session.exec("""
                import socket, os
                for addr in [('127.0.0.1', %d), ('10.0.0.1', 80)]:
                    try:
                        socket.create_connection(addr, timeout=2); print('connected')
                    except OSError as e:
                        print('no', e.errno)
                print(sorted(os.listdir('/sys/class/net')) if os.path.exists('/sys/class/net') else 'no sysfs')
                print(os.environ['HTTPS_PROXY'], os.environ['ALL_PROXY'])
                """.formatted(okPort()));
        assertFalse(r.stdout().contains("connected"), r.toString());
        assertEquals(hits, allowedHits.get(), "the host listener is not reachable directly");
        assertTrue(r.stdout().contains("http://127.0.0.1:3128 socks5h://127.0.0.1:3128"), r.stdout());
    }

    @Test
    void oneShotCommandsGetTheBridgeToo() throws Exception {
        int before = allowedHits.get();
        Run r = Run.of(gate, "python3", "-c", """
                import urllib.request, urllib.error
                print(urllib.request.urlopen('http://api.test:%d/').read().decode())
                try:
                    urllib.request.urlopen('http://other.test:%d/')
                except urllib.error.HTTPError as e:
                    print(e.code)
                """.formatted(okPort(), denied.getLocalPort()));
        assertEquals(0, r.rc(), r.all());
        assertEquals("hello from api.test:" + okPort() + "\n403\n", r.out());
        assertEquals(before + 1, allowedHits.get());
        assertEquals(0, deniedAccepts.get());
    }

    @Test
    void allowedConnectionsAreLoggedForEgressLogging() {
        int before = egressLog.size();
        session.exec("import urllib.request\nurllib.request.urlopen('http://api.test:%d/log').read()".formatted(okPort()));
        for (int i = 0; i < 50 && egressLog.size() == before; i++) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
        }
        EgressProxy.Connection c = egressLog.get(before);
        assertEquals("api.test", c.host());
        assertEquals(okPort(), c.port());
        assertTrue(c.bytesIn() > 0 && c.bytesOut() > 0, c.toString());
    }
}
