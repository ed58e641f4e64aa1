package dev.cordon.selfaudit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Host-side observers the checks count effects with: loopback listeners that count what reaches
 * them, and a poller that tries to reach a port guest code may have opened. They run on host
 * threads, which the network gate leaves alone.
 */
final class Probes {

    private Probes() { }

    /** A TCP listener counting accepted connections. */
    static final class Tcp implements AutoCloseable {
        final ServerSocketChannel server;
        final AtomicInteger accepted = new AtomicInteger();

        Tcp(InetAddress address) throws IOException {
            server = ServerSocketChannel.open(address.getAddress().length == 4
                    ? java.net.StandardProtocolFamily.INET : java.net.StandardProtocolFamily.INET6);
            server.bind(new InetSocketAddress(address, 0));
            Thread.ofPlatform().daemon().name("cordon-audit-tcp").start(() -> {
                while (server.isOpen()) {
                    try (SocketChannel c = server.accept()) {
                        accepted.incrementAndGet();
                    } catch (IOException e) {
                        if (!server.isOpen()) {
                            return;
                        }
                    }
                }
            });
        }

        int port() {
            return server.socket().getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** A UDP socket counting datagrams received. */
    static final class Udp implements AutoCloseable {
        final DatagramChannel channel;
        final AtomicInteger received = new AtomicInteger();

        Udp(InetAddress address) throws IOException {
            channel = DatagramChannel.open(address.getAddress().length == 4
                    ? java.net.StandardProtocolFamily.INET : java.net.StandardProtocolFamily.INET6);
            channel.bind(new InetSocketAddress(address, 0));
            Thread.ofPlatform().daemon().name("cordon-audit-udp").start(() -> {
                ByteBuffer b = ByteBuffer.allocate(2048);
                while (channel.isOpen()) {
                    try {
                        b.clear();
                        if (channel.receive(b) != null) {
                            received.incrementAndGet();
                        }
                    } catch (IOException e) {
                        if (!channel.isOpen()) {
                            return;
                        }
                    }
                }
            });
        }

        int port() {
            return channel.socket().getLocalPort();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** A loopback port free right now (closed again; a guest may try to listen on it). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Tries to connect to {@code 127.0.0.1:port} every 100 ms until stopped; counts successes. */
    static final class Poller implements AutoCloseable {
        final AtomicInteger reached = new AtomicInteger();
        private volatile boolean stop;
        private final Thread thread;

        Poller(int port) {
            thread = Thread.ofPlatform().daemon().name("cordon-audit-poll").start(() -> {
                while (!stop) {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                        reached.incrementAndGet();
                    } catch (IOException e) {
                        // nothing listens: what we want
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join(2000);
        }
    }
}
