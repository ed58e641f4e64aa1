package dev.cordon.packages;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A PEP 503 simple index on loopback, serving wheels the test builds itself, with an access log.
 * Project pages are HTML (with PEP 658 metadata links unless {@code metadata} is off) or, when the
 * client asks for it first, PEP 691 JSON.
 */
final class TestIndex implements AutoCloseable {

    /** A built wheel: file name, bytes, and its METADATA. */
    record Wheel(String project, String fileName, byte[] bytes, byte[] metadata) { }

    private final HttpServer server;
    final List<String> log = new CopyOnWriteArrayList<>();
    /** The Authorization header of each request ("" when none). */
    final List<String> auth = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    private final Map<String, List<Wheel>> projects = new LinkedHashMap<>();
    private final Map<String, String> extraFiles = new LinkedHashMap<>();
    volatile boolean metadata = true;
    volatile boolean json = false;

    TestIndex() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "test-index");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", this::handle);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    String url() {
        return "http://127.0.0.1:" + port() + "/simple/";
    }

    synchronized void add(Wheel w) {
        projects.computeIfAbsent(w.project(), k -> new ArrayList<>()).add(w);
    }

    /** A link on a project page to an sdist (never served as a wheel). */
    synchronized void addSdist(String project, String fileName) {
        extraFiles.put(project, fileName);
    }

    /** Requests whose path contains {@code s}. */
    List<String> requestsFor(String s) {
        return log.stream().filter(l -> l.contains(s)).toList();
    }

    private void handle(HttpExchange ex) throws IOException {
        connections.incrementAndGet();
        String path = ex.getRequestURI().getPath();
        log.add(ex.getRequestMethod() + " " + path);
        String a = ex.getRequestHeaders().getFirst("Authorization");
        auth.add(a == null ? "" : a);
        try (ex) {
            if (path.startsWith("/simple/") && path.endsWith("/") && path.length() > "/simple/".length()) {
                String name = path.substring("/simple/".length(), path.length() - 1);
                List<Wheel> ws;
                String sdist;
                synchronized (this) {
                    ws = projects.get(name);
                    sdist = extraFiles.get(name);
                }
                if (ws == null && sdist == null) {
                    send(ex, 404, "text/plain", "no such project".getBytes(StandardCharsets.UTF_8));
                    return;
                }
                ws = ws == null ? List.of() : ws;
                String accept = ex.getRequestHeaders().getFirst("Accept");
                if (json && accept != null && accept.contains("application/vnd.pypi.simple.v1+json")) {
                    StringBuilder b = new StringBuilder("{\"meta\": {\"api-version\": \"1.1\"}, \"name\": \"" + name
                            + "\", \"files\": [");
                    for (int i = 0; i < ws.size(); i++) {
                        Wheel w = ws.get(i);
                        b.append(i == 0 ? "" : ",").append("{\"filename\": \"").append(w.fileName())
                                .append("\", \"url\": \"../../files/").append(w.fileName())
                                .append("\", \"hashes\": {\"sha256\": \"").append(sha(w.bytes())).append("\"}")
                                .append(metadata ? ", \"core-metadata\": {\"sha256\": \"" + sha(w.metadata()) + "\"}" : "")
                                .append("}");
                    }
                    b.append("]}");
                    send(ex, 200, "application/vnd.pypi.simple.v1+json", b.toString().getBytes(StandardCharsets.UTF_8));
                    return;
                }
                StringBuilder b = new StringBuilder("<!DOCTYPE html><html><body><h1>Links for " + name + "</h1>\n");
                for (Wheel w : ws) {
                    b.append("<a href=\"/files/").append(w.fileName()).append("#sha256=").append(sha(w.bytes()))
                            .append("\" data-requires-python=\"&gt;=3.8\"")
                            .append(metadata ? " data-dist-info-metadata=\"sha256=" + sha(w.metadata()) + "\"" : "")
                            .append(">").append(w.fileName()).append("</a><br/>\n");
                }
                if (sdist != null) {
                    b.append("<a href=\"/files/").append(sdist).append("\">").append(sdist).append("</a><br/>\n");
                }
                b.append("</body></html>\n");
                send(ex, 200, "text/html", b.toString().getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (path.startsWith("/files/")) {
                String fn = path.substring("/files/".length());
                boolean meta = fn.endsWith(".metadata");
                String whl = meta ? fn.substring(0, fn.length() - ".metadata".length()) : fn;
                Wheel w = find(whl);
                if (w != null && (!meta || metadata)) {
                    send(ex, 200, "application/octet-stream", meta ? w.metadata() : w.bytes());
                    return;
                }
            }
            send(ex, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
        }
    }

    private synchronized Wheel find(String fn) {
        for (List<Wheel> ws : projects.values()) {
            for (Wheel w : ws) {
                if (w.fileName().equals(fn)) {
                    return w;
                }
            }
        }
        return null;
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // ---------------------------------------------------------------- wheels

    /**
     * Builds a wheel with zipfile semantics: the files, {@code NAME-VER.dist-info/METADATA},
     * {@code WHEEL}, and a {@code RECORD} with the sha256 and size of each.
     *
     * @param requires {@code Requires-Dist} lines
     * @param tag      e.g. {@code py3-none-any}
     */
    static Wheel wheel(String project, String version, Map<String, byte[]> files, List<String> requires, String tag)
            throws IOException {
        return wheel(project, version, files, requires, tag, Map.of());
    }

    /** A wheel whose {@code altered} members hold other bytes than RECORD says (a valid zip otherwise). */
    static Wheel wheel(String project, String version, Map<String, byte[]> files, List<String> requires, String tag,
            Map<String, byte[]> altered) throws IOException {
        String dist = project.replace('-', '_');
        String di = dist + "-" + version + ".dist-info";
        StringBuilder md = new StringBuilder("Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version
                + "\nRequires-Python: >=3.8\n");
        for (String r : requires) {
            md.append("Requires-Dist: ").append(r).append('\n');
        }
        md.append("\nA test package built by Cordon's tests.\n");
        byte[] metadata = md.toString().getBytes(StandardCharsets.UTF_8);
        Map<String, byte[]> all = new LinkedHashMap<>(files);
        all.put(di + "/METADATA", metadata);
        all.put(di + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: cordon-test\nRoot-Is-Purelib: true\nTag: " + tag + "\n")
                .getBytes(StandardCharsets.UTF_8));
        StringBuilder record = new StringBuilder();
        for (Map.Entry<String, byte[]> e : all.entrySet()) {
            record.append(e.getKey()).append(",sha256=").append(Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(digest(e.getValue()))).append(',').append(e.getValue().length).append('\n');
        }
        record.append(di).append("/RECORD,,\n");
        all.put(di + "/RECORD", record.toString().getBytes(StandardCharsets.UTF_8));
        all.putAll(altered);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : all.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return new Wheel(project, dist + "-" + version + "-" + tag + ".whl", bytes.toByteArray(), metadata);
    }

    static Wheel pureWheel(String project, String version, String module, String code, List<String> requires)
            throws IOException {
        return wheel(project, version, Map.of(module + "/__init__.py", code.getBytes(StandardCharsets.UTF_8)), requires,
                "py3-none-any");
    }

    static byte[] digest(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha(byte[] b) {
        return HexFormat.of().formatHex(digest(b));
    }
}
