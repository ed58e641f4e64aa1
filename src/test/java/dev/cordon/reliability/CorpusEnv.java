package dev.cordon.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the escape corpus attacks and watches, all outside every sandbox: a canary file with a
 * random token that no output and no workspace may ever contain, a host marker path that must never
 * exist, loopback listeners that count every connection or datagram that reaches them (the policy
 * allows none of them), and one allowed HTTP server on 127.0.0.1 that answers or redirects to the
 * forbidden ones.
 */
final class CorpusEnv implements AutoCloseable {

    final Path dir;
    final String token = "CANARY-" + UUID.randomUUID();
    final Path canaryDir;
    final Path canary;
    final Path hostMarker;
    /** The allowed port: the HTTP server on 127.0.0.1, and the forbidden listeners on other addresses. */
    final int allowedPort;
    /** A forbidden port on 127.0.0.1 (the allowed address). */
    final int forbiddenPort;
    private final List<Counter> forbidden = new ArrayList<>();
    private final List<AutoCloseable> open = new ArrayList<>();
    final AtomicInteger allowedHits = new AtomicInteger();

    /** A listener whose count must stay zero. */
    record Counter(String name, AtomicInteger count) { }

    CorpusEnv() throws IOException {
        dir = Files.createTempDirectory("cordon-corpus-");
        canaryDir = Files.createDirectories(dir.resolve("outside"));
        canary = canaryDir.resolve("canary.txt");
        Files.writeString(canary, token + "\n");
        Files.createDirectories(canaryDir.resolve("sub"));
        Files.writeString(canaryDir.resolve("sub/canary2.txt"), token + "\n");
        hostMarker = dir.resolve("host-marker");

        ServerSocketChannel http = null;
        int port = -1;
        for (int attempt = 0; attempt < 20 && http == null; attempt++) {
            ServerSocketChannel h = ServerSocketChannel.open(StandardProtocolFamily.INET);
            h.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            int p = ((InetSocketAddress) h.getLocalAddress()).getPort();
            try {
                tcp("127.0.0.2:" + p, "127.0.0.2", p);
                udp("udp 127.0.0.2:" + p, "127.0.0.2", p);
                try {
                    tcp("[::1]:" + p, "::1", p);
                } catch (IOException e) {
                    // no IPv6 loopback on this host: the IPv6 cases still run, against nothing
                }
                http = h;
                port = p;
            } catch (IOException e) {
                h.close();
                closeListeners();
            }
        }
        if (http == null) {
            throw new IOException("no free port on both 127.0.0.1 and 127.0.0.2");
        }
        allowedPort = port;
        ServerSocketChannel forbiddenHere = ServerSocketChannel.open(StandardProtocolFamily.INET);
        forbiddenHere.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        forbiddenPort = ((InetSocketAddress) forbiddenHere.getLocalAddress()).getPort();
        count("127.0.0.1:" + forbiddenPort, forbiddenHere);
        serveHttp(http);
    }

    private void tcp(String name, String address, int port) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(address.contains(":") ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        try {
            s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        } catch (IOException e) {
            s.close();
            throw e;
        }
        count(name, s);
    }

    private void count(String name, ServerSocketChannel s) {
        Counter c = new Counter(name, new AtomicInteger());
        forbidden.add(c);
        open.add(s);
        Thread.ofPlatform().daemon().name("corpus-" + name).start(() -> {
            while (s.isOpen()) {
                try (SocketChannel ch = s.accept()) {
                    c.count().incrementAndGet();
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private void udp(String name, String address, int port) throws IOException {
        DatagramChannel d = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            d.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        } catch (IOException e) {
            d.close();
            throw e;
        }
        Counter c = new Counter(name, new AtomicInteger());
        forbidden.add(c);
        open.add(d);
        Thread.ofPlatform().daemon().name("corpus-" + name).start(() -> {
            ByteBuffer b = ByteBuffer.allocate(2048);
            while (d.isOpen()) {
                try {
                    b.clear();
                    d.receive(b);
                    c.count().incrementAndGet();
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    /**
     * The allowed server: {@code /} answers "allowed-ok", {@code /redirect} redirects to the
     * forbidden 127.0.0.2 listener, {@code /redirect-port} to the forbidden port on 127.0.0.1.
     */
    private void serveHttp(ServerSocketChannel s) {
        open.add(s);
        Thread.ofPlatform().daemon().name("corpus-http").start(() -> {
            while (s.isOpen()) {
                try (SocketChannel ch = s.accept()) {
                    allowedHits.incrementAndGet();
                    InputStream in = java.nio.channels.Channels.newInputStream(ch);
                    OutputStream out = java.nio.channels.Channels.newOutputStream(ch);
                    StringBuilder req = new StringBuilder();
                    int c;
                    while ((c = in.read()) >= 0 && !req.toString().endsWith("\r\n\r\n") && req.length() < 8192) {
                        req.append((char) c);
                    }
                    String path = req.toString().split(" ", 3).length > 1 ? req.toString().split(" ", 3)[1] : "/";
                    String resp = switch (path) {
                        case "/redirect" -> "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:" + allowedPort
                                + "/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        case "/redirect-port" -> "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:" + forbiddenPort
                                + "/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        default -> "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nallowed-ok";
                    };
                    out.write(resp.getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    if (!s.isOpen()) {
                        return;
                    }
                }
            }
        });
    }

    /** Forbidden listeners that were reached, with their counts (empty when none was). */
    Map<String, Integer> reached() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Counter c : forbidden) {
            if (c.count().get() > 0) {
                m.put(c.name(), c.count().get());
            }
        }
        return m;
    }

    /** The placeholders case code may use. */
    Map<String, String> placeholders() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("{canary_path}", canary.toString());
        m.put("{canary_dir}", canaryDir.toString());
        m.put("{host_marker}", hostMarker.toString());
        m.put("{allowed_port}", String.valueOf(allowedPort));
        m.put("{forbidden_port}", String.valueOf(forbiddenPort));
        m.put("{host_pid}", String.valueOf(ProcessHandle.current().pid()));
        m.put("{graalpy_home}", Path.of(System.getProperty("user.home"), ".cache", "org.graalvm.polyglot").toString());
        return m;
    }

    String fill(String text) {
        String t = text;
        for (Map.Entry<String, String> e : placeholders().entrySet()) {
            t = t.replace(e.getKey(), e.getValue());
        }
        return t;
    }

    private void closeListeners() {
        for (AutoCloseable c : open) {
            try {
                c.close();
            } catch (Exception e) {
                // closing a test listener
            }
        }
        open.clear();
        forbidden.clear();
    }

    @Override
    public void close() throws IOException {
        closeListeners();
        WorkspacePathPropertiesTest.deleteTree(dir);
    }
}
