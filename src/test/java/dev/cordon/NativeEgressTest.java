package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native tier's whole egress path, from guest CPython in the sandbox: the in-sandbox bridge on
 * 127.0.0.1:3128, the host proxy behind its unix socket, the policy's decision, and the
 * destination. Judged from outside: the allowed server answers and counts the request; the
 * listener on a port the policy does not allow sees no connection at all.
 */
class NativeEgressTest {

    @TempDir
    Path dir;

    @Test
    void allowedDestinationIsReachedThroughTheBridgeAndOthersNeverSeeAConnection() throws Exception {
        assumeTrue(NativeTier.get().check().available(), () -> NativeTier.get().check().describe());
        AtomicInteger served = new AtomicInteger();
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        http.createContext("/hello", ex -> {
            served.incrementAndGet();
            byte[] body = "hello from the host".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        http.start();
        AtomicInteger forbiddenConnections = new AtomicInteger();
        try (ServerSocket forbidden = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofPlatform().daemon(true).start(() -> {
                while (!forbidden.isClosed()) {
                    try (Socket s = forbidden.accept()) {
                        forbiddenConnections.incrementAndGet();
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            int port = http.getAddress().getPort();
            Policy p = PolicyLoader.parse("""
                    execution:
                      engine: native
                      sandbox:
                        network:
                          policy: restricted
                          allowlist:
                            - cidr: 127.0.0.1/32
                              ports: [%d]
                    """.formatted(port), "egress.yaml");
            try (Sandbox sb = Sandbox.builder().policy(p).poolSize(0).workspaceRoot(dir).build();
                 Session s = sb.openSession("egress")) {
                // NO_PROXY names 127.0.0.1 (in the sandbox that is its own loopback, and urllib would
                // bypass the proxy for it): speak to the bridge directly, as any HTTP proxy client does.
                String get = """
                        import http.client
                        c = http.client.HTTPConnection('127.0.0.1', 3128, timeout=20)
                        c.request('GET', 'http://127.0.0.1:%d/hello')
                        r = c.getresponse()
                        print(r.status, r.getheader('X-Cordon-Blocked'), r.read().decode()[:40])
                        """;
                ExecResult ok = s.exec(get.formatted(port));
                assertTrue(ok.ok(), ok::toString);
                assertEquals("native", ok.engine());
                assertEquals("200 None hello from the host\n", ok.stdout(), ok::toString);
                assertTrue(ok.blocked().isEmpty(), ok::toString);
                assertEquals(1, served.get());

                ExecResult denied = s.exec(get.formatted(forbidden.getLocalPort()));
                assertTrue(denied.stdout().startsWith("403 network."), denied::toString);
                assertEquals(1, denied.blocked().size(), denied::toString);
                assertTrue(denied.blocked().get(0).target().contains(Integer.toString(forbidden.getLocalPort())),
                        denied::toString);
            }
            assertEquals(0, forbiddenConnections.get(), "the forbidden listener saw a connection");
            assertEquals(1, served.get());
            acceptor.interrupt();
        } finally {
            http.stop(0);
        }
    }
}
