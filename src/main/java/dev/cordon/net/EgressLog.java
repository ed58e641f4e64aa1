package dev.cordon.net;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * Where the network gate records each allowed connection ({@code logging.egress: true}, and always
 * under {@code policy: permissive}): one entry when the connection ends (closed by the guest, or
 * still open when the gate closes).
 */
@FunctionalInterface
public interface EgressLog {

    /** Bytes of each direction kept when {@code log_bodies} is on: the first 16 KiB. */
    int BODY_LIMIT = 16 * 1024;

    void record(Entry entry);

    EgressLog NONE = e -> { };

    /**
     * One connection.
     *
     * @param start        when it was allowed
     * @param durationMs   until it was closed (or the gate closed)
     * @param transport    {@code tcp} or {@code udp}
     * @param name         the name it was resolved from in this session, or null (IP literal)
     * @param address      the remote IP address (first destination for UDP)
     * @param port         the remote port
     * @param rule         the policy rule that allowed it, e.g. {@code network.allowlist[1]}
     * @param bytesOut     bytes the guest sent
     * @param bytesIn      bytes the guest received
     * @param destinations for UDP: every {@code ip:port} datagrams went to
     * @param tls          the guest's first bytes were a TLS handshake (bodies are then ciphertext and not kept)
     * @param sni          the server name of the TLS ClientHello, or null
     * @param bodyOut      first {@link #BODY_LIMIT} bytes sent, or null (log_bodies off, or TLS)
     * @param bodyIn       first {@link #BODY_LIMIT} bytes received, or null
     * @param closed       false when the connection was still open when the gate closed
     */
    record Entry(Instant start, long durationMs, String transport, String name, String address, int port,
            String rule, long bytesOut, long bytesIn, List<String> destinations, boolean tls, String sni,
            byte[] bodyOut, byte[] bodyIn, boolean closed) {
    }

    /**
     * JSON lines appended to {@code file} (created with its parent directories). Bodies are UTF-8
     * text when they decode cleanly ({@code bodyOut}/{@code bodyIn}), otherwise base64
     * ({@code bodyOutBase64}/{@code bodyInBase64}). Write errors go to stderr: the log must never
     * take a guest's connection down.
     */
    static EgressLog jsonl(Path file, String session) {
        return new JsonLines(file, session, null);
    }

    /**
     * As {@link #jsonl(Path, String)}, for a file inside a session's workspace ({@code workspace} is
     * its host root): each entry is appended beneath the root without following links
     * ({@link dev.cordon.fs.HostAppend}), because native-tier processes write the workspace
     * directly and could otherwise point the host's append at any host file.
     */
    static EgressLog jsonl(Path file, String session, Path workspace) {
        return new JsonLines(file, session, workspace);
    }

    /**
     * The JSON-lines egress log. Keeps its file open in append mode between entries (an entry is
     * written on the guest thread that closes the connection, so opening the file each time would
     * be paid by the guest); {@link #close()} releases it (the gate does on close).
     */
    final class JsonLines implements EgressLog, AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final Path file;
        private final String session;
        private java.nio.channels.FileChannel channel;

        private final Path workspace;

        JsonLines(Path file, String session, Path workspace) {
            this.file = file;
            this.session = session;
            Path ws = workspace == null ? null : workspace.toAbsolutePath().normalize();
            this.workspace = ws != null && file.toAbsolutePath().normalize().startsWith(ws) ? ws : null;
        }

        @Override
        public void record(Entry entry) {
            ObjectNode o = JSON.createObjectNode();
            o.put("ts", entry.start().toString());
            if (session != null) {
                o.put("session", session);
            }
            o.put("transport", entry.transport());
            o.put("name", entry.name());
            o.put("address", entry.address());
            o.put("port", entry.port());
            o.put("rule", entry.rule());
            o.put("bytesOut", entry.bytesOut());
            o.put("bytesIn", entry.bytesIn());
            o.put("durationMs", entry.durationMs());
            if (entry.destinations() != null && entry.destinations().size() > 1) {
                var a = o.putArray("destinations");
                entry.destinations().forEach(a::add);
            }
            if (entry.tls()) {
                o.put("tls", true);
                if (entry.sni() != null) {
                    o.put("sni", entry.sni());
                }
            }
            body(o, "bodyOut", entry.bodyOut());
            body(o, "bodyIn", entry.bodyIn());
            if (!entry.closed()) {
                o.put("open", true);
            }
            try {
                byte[] line = (JSON.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
                if (workspace != null) {
                    synchronized (this) {
                        dev.cordon.fs.HostAppend.append(workspace,
                                workspace.relativize(file.toAbsolutePath().normalize()).toString(), line);
                    }
                    return;
                }
                synchronized (this) {
                    if (channel == null || !channel.isOpen()) {
                        Path parent = file.toAbsolutePath().getParent();
                        if (parent != null) {
                            Files.createDirectories(parent);
                        }
                        channel = java.nio.channels.FileChannel.open(file, StandardOpenOption.CREATE,
                                StandardOpenOption.APPEND, StandardOpenOption.WRITE);
                    }
                    ByteBuffer b = ByteBuffer.wrap(line);
                    while (b.hasRemaining()) {
                        channel.write(b);
                    }
                }
            } catch (IOException e) {
                System.err.println("cordon: cannot write egress log " + file + ": " + e.getMessage());
                close();
            }
        }

        @Override
        public synchronized void close() {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException e) {
                    // nothing left to flush: writes go straight to the file
                }
                channel = null;
            }
        }
    }

    private static void body(ObjectNode o, String key, byte[] body) {
        if (body == null) {
            return;
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
            o.put(key, text);
        } catch (CharacterCodingException e) {
            o.put(key + "Base64", Base64.getEncoder().encodeToString(body));
        }
    }
}
