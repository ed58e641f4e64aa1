package dev.cordon.nativetier;

import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The native tier's only way out: a host-side proxy on a unix socket that is bind-mounted into the
 * sandbox ({@code /run/cordon/io/proxy.sock}), where a bridge exposes it as
 * {@code 127.0.0.1:}{@value #BRIDGE_PORT} and {@code HTTP_PROXY}/{@code HTTPS_PROXY}/{@code ALL_PROXY}
 * point at it. The sandbox has no other interface than loopback, so a client that ignores the
 * proxy settings simply cannot connect anywhere.
 *
 * <p>Protocols: HTTP/1.x with absolute-form requests (forwarded with {@code Connection: close}, so
 * one proxy connection carries one request to one decided destination; the {@code Host} header is
 * rewritten to that destination), {@code CONNECT} (HTTPS and any TCP), and SOCKS5 {@code CONNECT}
 * without authentication (IPv4, IPv6 and domain names; {@code socks5h} lets the proxy resolve).
 *
 * <p>Decisions: the proxy resolves names itself (the sandbox has no DNS) and asks the
 * {@link EgressGate} first about the name (before any lookup) and then about each address; it
 * connects to the first allowed address. Each denial is audited through the {@link DenialSink}
 * and answered with HTTP 403 (body: Cordon's message; header {@code X-Cordon-Blocked: <rule>}) or
 * SOCKS5 reply 2 ("connection not allowed by ruleset").
 *
 * <p>Limit: inside CONNECT the proxy sees only the destination, not the TLS SNI or the HTTP Host
 * within; a client can "front" another virtual host served from an allowed address.
 */
public final class EgressProxy implements AutoCloseable {

    /** The port of the in-sandbox bridge (each sandbox has its own network namespace: no clashes). */
    public static final int BRIDGE_PORT = 3128;
    private static final int MAX_HEAD = 64 * 1024;
    private static final int CONNECT_TIMEOUT_MS = 10_000;
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}");

    /**
     * One allowed connection, reported when it ends (for {@code logging.egress}).
     *
     * @param host     the name the client asked for, or null for an IP literal
     * @param address  where the proxy connected
     * @param port     the port
     * @param bytesOut bytes from the sandbox to the destination
     * @param bytesIn  bytes from the destination to the sandbox
     * @param millis   duration
     */
    public record Connection(String host, InetAddress address, int port, long bytesOut, long bytesIn, long millis) { }

    private final Path socket;
    private final ServerSocketChannel server;
    private final EgressGate gate;
    private final EgressGate.Resolver resolver;
    private final DenialSink sink;
    private final Consumer<Connection> log;
    private final AtomicLong accepted = new AtomicLong();
    private volatile boolean closed;

    private EgressProxy(Path socket, ServerSocketChannel server, EgressGate gate, EgressGate.Resolver resolver,
                        DenialSink sink, Consumer<Connection> log) {
        this.socket = socket;
        this.server = server;
        this.gate = gate;
        this.resolver = resolver;
        this.sink = sink;
        this.log = log;
    }

    /**
     * Listens on {@code socket} (replaced if present).
     *
     * @param log called for each allowed connection when it ends; may be null
     */
    public static EgressProxy start(Path socket, EgressGate gate, EgressGate.Resolver resolver, DenialSink sink,
                                    Consumer<Connection> log) throws IOException {
        Objects.requireNonNull(gate, "gate");
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        EgressProxy p = new EgressProxy(socket, server, gate, resolver == null ? EgressGate.Resolver.SYSTEM : resolver,
                sink == null ? DenialSink.NONE : sink, log);
        Thread t = new Thread(p::acceptLoop, "cordon-egress-" + socket.getParent().getFileName());
        t.setDaemon(true);
        t.start();
        return p;
    }

    public Path socket() {
        return socket;
    }

    /** Client connections accepted so far. */
    public long accepted() {
        return accepted.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel c = server.accept();
                accepted.incrementAndGet();
                Thread.ofVirtual().name("cordon-egress-conn").start(() -> handle(c));
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void handle(SocketChannel client) {
        try (client) {
            InputStream in = Channels.newInputStream(client);
            OutputStream out = Channels.newOutputStream(client);
            int first = in.read();
            if (first < 0) {
                return;
            }
            if (first == 0x05) {
                socks5(client, in, out);
            } else {
                http(client, first, in, out);
            }
        } catch (IOException | RuntimeException e) {
            // the client went away or spoke nonsense: nothing to answer
        }
    }

    // ---- HTTP ----------------------------------------------------------------------------------

    private void http(SocketChannel client, int first, InputStream in, OutputStream out) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        head.write(first);
        int state = first == '\r' ? 1 : 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                return;
            }
            head.write(b);
            if (head.size() > MAX_HEAD) {
                respond(out, 431, "Request Header Fields Too Large", null, "request head over 64 KiB\n");
                return;
            }
            state = switch (state) {
                case 0, 2 -> b == '\r' ? state + 1 : 0;
                case 1, 3 -> b == '\n' ? state + 1 : (b == '\r' ? 1 : 0);
                default -> state;
            };
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] req = lines[0].split(" ");
        if (req.length != 3 || !req[2].startsWith("HTTP/1.")) {
            respond(out, 400, "Bad Request", null, "not an HTTP/1.x proxy request\n");
            return;
        }
        String method = req[0];
        if (method.equals("CONNECT")) {
            Target t = authority(req[1], -1);
            if (t == null) {
                respond(out, 400, "Bad Request", null, "CONNECT needs host:port\n");
                return;
            }
            Outcome o = open(t.host(), t.port(), "connect");
            if (o.deny != null) {
                respond(out, 403, "Forbidden", o.deny.rule(), o.deny.message() + "\n");
                return;
            }
            if (o.socket == null) {
                respond(out, 502, "Bad Gateway", null, o.failure + "\n");
                return;
            }
            try (Socket up = o.socket) {
                out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                splice(client, in, out, up, o, new byte[0]);
            }
            return;
        }
        URI uri;
        try {
            uri = new URI(req[1]);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || uri.getScheme() == null || !uri.getScheme().equalsIgnoreCase("http") || uri.getHost() == null) {
            respond(out, 400, "Bad Request", null, "send absolute http:// URLs (and CONNECT for https)\n");
            return;
        }
        String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
        int port = uri.getPort() < 0 ? 80 : uri.getPort();
        Outcome o = open(host, port, "connect");
        if (o.deny != null) {
            respond(out, 403, "Forbidden", o.deny.rule(), o.deny.message() + "\n");
            return;
        }
        if (o.socket == null) {
            respond(out, 502, "Bad Gateway", null, o.failure + "\n");
            return;
        }
        StringBuilder fwd = new StringBuilder();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) {
            path += "?" + uri.getRawQuery();
        }
        fwd.append(method).append(' ').append(path).append(' ').append(req[2]).append("\r\n");
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i];
            String lower = l.toLowerCase(Locale.ROOT);
            if (l.isEmpty() || lower.startsWith("proxy-") || lower.startsWith("connection:")
                    || lower.startsWith("keep-alive:") || lower.startsWith("host:")) {
                continue;
            }
            fwd.append(l).append("\r\n");
        }
        fwd.append("Host: ").append(host.contains(":") ? "[" + host + "]" : host).append(port == 80 ? "" : ":" + port)
                .append("\r\nConnection: close\r\n\r\n");
        try (Socket up = o.socket) {
            splice(client, in, out, up, o, fwd.toString().getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    private static void respond(OutputStream out, int code, String reason, String rule, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String h = "HTTP/1.1 " + code + " " + reason + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                + b.length + "\r\nConnection: close\r\n" + (rule == null ? "" : "X-Cordon-Blocked: " + rule + "\r\n") + "\r\n";
        out.write(h.getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    private record Target(String host, int port) { }

    private static Target authority(String a, int defaultPort) {
        String host;
        String port;
        if (a.startsWith("[")) {
            int end = a.indexOf(']');
            if (end < 0) {
                return null;
            }
            host = a.substring(1, end);
            port = a.length() > end + 1 && a.charAt(end + 1) == ':' ? a.substring(end + 2) : null;
        } else {
            int colon = a.lastIndexOf(':');
            host = colon < 0 ? a : a.substring(0, colon);
            port = colon < 0 ? null : a.substring(colon + 1);
        }
        int p = defaultPort;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                return null;
            }
        }
        if (host.isEmpty() || p < 1 || p > 65535) {
            return null;
        }
        return new Target(host, p);
    }

    // ---- SOCKS5 --------------------------------------------------------------------------------

    private void socks5(SocketChannel client, InputStream in, OutputStream out) throws IOException {
        int n = in.read();
        if (n < 0 || in.readNBytes(n).length != n) {
            return;
        }
        out.write(new byte[] {5, 0}); // no authentication: the socket is reachable only from the sandbox
        out.flush();
        byte[] hdr = in.readNBytes(4);
        if (hdr.length != 4 || hdr[0] != 5) {
            return;
        }
        String host;
        switch (hdr[3]) {
            case 1 -> host = InetAddress.getByAddress(in.readNBytes(4)).getHostAddress();
            case 4 -> host = InetAddress.getByAddress(in.readNBytes(16)).getHostAddress();
            case 3 -> {
                int len = in.read();
                host = new String(in.readNBytes(Math.max(0, len)), StandardCharsets.US_ASCII);
            }
            default -> {
                socksReply(out, 8);
                return;
            }
        }
        byte[] pb = in.readNBytes(2);
        int port = ((pb[0] & 0xff) << 8) | (pb[1] & 0xff);
        if (hdr[1] != 1) {
            socksReply(out, 7); // only CONNECT: no BIND, no UDP ASSOCIATE
            return;
        }
        Outcome o = open(host, port, "connect");
        if (o.deny != null) {
            socksReply(out, 2);
            return;
        }
        if (o.socket == null) {
            socksReply(out, o.unresolved ? 4 : 5);
            return;
        }
        try (Socket up = o.socket) {
            socksReply(out, 0);
            splice(client, in, out, up, o, new byte[0]);
        }
    }

    private static void socksReply(OutputStream out, int code) throws IOException {
        out.write(new byte[] {5, (byte) code, 0, 1, 0, 0, 0, 0, 0, 0});
        out.flush();
    }

    // ---- decide, resolve, connect --------------------------------------------------------------

    private static final class Outcome {
        Decision.Deny deny;
        Socket socket;
        String failure;
        boolean unresolved;
        String host;
        InetAddress address;
        int port;
    }

    private Outcome open(String rawHost, int port, String op) {
        Outcome o = new Outcome();
        o.port = port;
        String host = rawHost.toLowerCase(Locale.ROOT);
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        InetAddress literal = literal(host);
        List<InetAddress> candidates = new ArrayList<>();
        String name = null;
        if (literal != null) {
            candidates.add(literal);
        } else {
            name = host;
            Decision d = gate.decideName(host, port);
            if (d instanceof Decision.Deny deny) {
                o.deny = deny;
                sink.blocked(deny);
                return o;
            }
            try {
                candidates.addAll(resolver.resolve(host));
            } catch (UnknownHostException e) {
                o.unresolved = true;
                o.failure = "cannot resolve " + host;
                return o;
            }
        }
        Decision.Deny lastDeny = null;
        for (InetAddress a : candidates) {
            Decision d = gate.decide(name, a, port);
            if (d instanceof Decision.Deny deny) {
                lastDeny = deny;
                continue;
            }
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(a, port), CONNECT_TIMEOUT_MS);
                o.socket = s;
                o.host = name;
                o.address = a;
                return o;
            } catch (IOException e) {
                o.failure = "cannot connect to " + a.getHostAddress() + ":" + port + ": " + e.getMessage();
                try {
                    s.close();
                } catch (IOException ignored) {
                    // nothing to release
                }
            }
        }
        if (lastDeny != null && o.failure == null) {
            o.deny = lastDeny;
            sink.blocked(lastDeny);
        } else if (o.failure == null) {
            o.failure = "no address for " + host;
            o.unresolved = true;
        }
        return o;
    }

    /** An IPv4 dotted quad or an IPv6 literal, parsed without DNS; null for anything else. */
    static InetAddress literal(String host) {
        try {
            if (IPV4.matcher(host).matches()) {
                return Inet4Address.getByName(host);
            }
            if (host.indexOf(':') >= 0 && host.matches("[0-9a-fA-F:.%]+")) {
                InetAddress a = InetAddress.getByName(host);
                return a instanceof Inet6Address || a instanceof Inet4Address ? a : null;
            }
        } catch (UnknownHostException e) {
            return null;
        }
        return null;
    }

    private void splice(SocketChannel client, InputStream in, OutputStream out, Socket up, Outcome o, byte[] prefix)
            throws IOException {
        long t0 = System.nanoTime();
        InputStream upIn = up.getInputStream();
        OutputStream upOut = up.getOutputStream();
        AtomicLong toUp = new AtomicLong(prefix.length);
        AtomicLong toClient = new AtomicLong();
        upOut.write(prefix);
        upOut.flush();
        Thread back = Thread.ofVirtual().start(() -> {
            try {
                toClient.addAndGet(copy(upIn, out));
            } catch (IOException e) {
                // destination closed
            } finally {
                try {
                    client.shutdownOutput();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        });
        try {
            toUp.addAndGet(copy(in, upOut));
        } catch (IOException e) {
            // client closed
        } finally {
            try {
                up.shutdownOutput();
            } catch (IOException ignored) {
                // already closed
            }
        }
        try {
            back.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (log != null) {
            log.accept(new Connection(o.host, o.address, o.port, toUp.get(), toClient.get(),
                    (System.nanoTime() - t0) / 1_000_000));
        }
    }

    private static long copy(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[32 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
            out.flush();
            total += n;
        }
        return total;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // best effort
        }
    }
}
