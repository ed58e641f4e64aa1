package dev.cordon.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Host-side loopback servers that count what reaches them: the effect a denied guest operation must
 * never have. Run on test threads (never guest threads), so the hooks leave them alone.
 */
final class Loopback {

    private Loopback() { }

    /** A TCP listener that counts accepted connections and answers each with a tiny HTTP response. */
    static final class Tcp implements AutoCloseable {
        final ServerSocketChannel server;
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicInteger bytesIn = new AtomicInteger();
        private final Thread thread;
        final String body;

        Tcp(String address) throws IOException {
            this(address, "hello from " + address);
        }

        Tcp(String address, String body) throws IOException {
            this.body = body;
            InetAddress a = InetAddress.ofLiteral(address);
            server = ServerSocketChannel.open(a.getAddress().length == 4 ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6);
            server.bind(new InetSocketAddress(a, 0));
            thread = Thread.ofPlatform().daemon().name("loopback-" + address).start(this::loop);
        }

        int port() {
            return ((InetSocketAddress) server.socket().getLocalSocketAddress()).getPort();
        }

        String host() {
            return ((InetSocketAddress) server.socket().getLocalSocketAddress()).getAddress().getHostAddress();
        }

        private void loop() {
            while (server.isOpen()) {
                try {
                    SocketChannel c = server.accept();
                    accepted.incrementAndGet();
                    Thread.ofPlatform().daemon().start(() -> serve(c));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(SocketChannel c) {
            try (c) {
                ByteBuffer buf = ByteBuffer.allocate(8192);
                StringBuilder req = new StringBuilder();
                while (!req.toString().contains("\r\n\r\n") && !req.toString().contains("\n\n")) {
                    buf.clear();
                    int n = c.read(buf);
                    if (n < 0) {
                        return;
                    }
                    bytesIn.addAndGet(n);
                    req.append(new String(buf.array(), 0, n, StandardCharsets.ISO_8859_1));
                    if (req.toString().startsWith("RAW")) {
                        c.write(ByteBuffer.wrap(("ok " + body + "\n").getBytes(StandardCharsets.UTF_8)));
                        return;
                    }
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length
                        + "\r\nConnection: close\r\n\r\n";
                c.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
                c.write(ByteBuffer.wrap(b));
            } catch (IOException e) {
                // client went away
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** A UDP receiver that counts datagrams. */
    static final class Udp implements AutoCloseable {
        final DatagramChannel channel;
        final AtomicInteger received = new AtomicInteger();

        Udp(String address) throws IOException {
            InetAddress a = InetAddress.ofLiteral(address);
            channel = DatagramChannel.open(a.getAddress().length == 4 ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6);
            channel.bind(new InetSocketAddress(a, 0));
            Thread.ofPlatform().daemon().name("udp-" + address).start(() -> {
                ByteBuffer b = ByteBuffer.allocate(2048);
                while (channel.isOpen()) {
                    try {
                        b.clear();
                        if (channel.receive(b) != null) {
                            received.incrementAndGet();
                        }
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() throws IOException {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
