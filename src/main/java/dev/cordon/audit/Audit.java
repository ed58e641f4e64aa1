package dev.cordon.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.policy.LoggingPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one audit stream of a session. Every denial a gate enforces goes through
 * {@link #blocked(Decision.Deny)}, which appends to (in this order, each optional):
 * <ul>
 *   <li>the policy's {@code log_file}: one guide-format line, prefixed with an ISO timestamp and
 *       the session, when {@code log_blocked_operations} is on;</li>
 *   <li>the JSON-lines stream ({@link AuditEvent}, schema {@value AuditEvent#SCHEMA});</li>
 *   <li>the current call's {@code blocked} list, returned in its result.</li>
 * </ul>
 * Only the host writes these files; the filesystem gate keeps them read-only for guest code.
 * Thread-safe: guest threads of one session may be denied concurrently.
 */
public final class Audit implements DenialSink {

    private static final AtomicLong IDS = new AtomicLong();
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Bound on the {@code blocked} entries kept per call; a guest in a loop must not grow the host heap. */
    static final int MAX_BLOCKED_PER_CALL = 200;

    private final String session;
    private final LoggingPolicy logging;
    private final Path logFile;
    private final Path jsonlFile;
    private final List<Decision.Deny> current = new ArrayList<>();
    private int droppedThisCall;

    /**
     * @param session   the session name, written on every line
     * @param logging   the policy's logging section
     * @param logFile   host path of {@code log_file}, or null
     * @param jsonlFile host path of the JSON-lines stream, or null
     */
    public Audit(String session, LoggingPolicy logging, Path logFile, Path jsonlFile) {
        this.session = session;
        this.logging = logging;
        this.logFile = logFile;
        this.jsonlFile = jsonlFile;
    }

    public String session() {
        return session;
    }

    public Path logFile() {
        return logFile;
    }

    public Path jsonlFile() {
        return jsonlFile;
    }

    @Override
    public void blocked(Decision.Deny deny) {
        Instant now = Instant.now();
        String id = "d" + Long.toString(now.toEpochMilli(), 36) + "-" + IDS.incrementAndGet();
        synchronized (this) {
            if (current.size() < MAX_BLOCKED_PER_CALL) {
                current.add(deny);
            } else {
                droppedThisCall++;
            }
            try {
                if (logFile != null && logging.logBlockedOperations()
                        && logging.level().enables(LoggingPolicy.Level.WARN)) {
                    append(logFile, DateTimeFormatter.ISO_INSTANT.format(now) + " session=" + session + " "
                            + oneLine(deny.blockedLine()) + "\n");
                }
                if (jsonlFile != null) {
                    append(jsonlFile, JSON.writeValueAsString(AuditEvent.of(id, DateTimeFormatter.ISO_INSTANT.format(now), session, deny)) + "\n");
                }
            } catch (IOException e) {
                // The audit must never take the call down with it; the denial itself still stands.
                System.err.println("cordon: cannot write audit log: " + e.getMessage());
            }
        }
    }

    /** Appends an informational line (e.g. a reload or a limit) to {@code log_file}, honouring {@code level}. */
    public synchronized void info(LoggingPolicy.Level level, String message) {
        if (logFile == null || !logging.level().enables(level)) {
            return;
        }
        try {
            append(logFile, DateTimeFormatter.ISO_INSTANT.format(Instant.now()) + " session=" + session + " ["
                    + level.name() + "] " + oneLine(message) + "\n");
        } catch (IOException e) {
            System.err.println("cordon: cannot write audit log: " + e.getMessage());
        }
    }

    /** Returns the denials of the call that just ended and starts a new call. */
    public synchronized List<Decision.Deny> drainCall() {
        List<Decision.Deny> out = List.copyOf(current);
        current.clear();
        droppedThisCall = 0;
        return out;
    }

    /** How many denials beyond {@link #MAX_BLOCKED_PER_CALL} this call had. */
    public synchronized int droppedThisCall() {
        return droppedThisCall;
    }

    /**
     * A log line as guest-chosen text may appear in it (a path, a host name, a command): line
     * breaks and other control characters, Unicode line/paragraph separators and bidirectional
     * overrides are written as Java-style escapes (backslash, u, four hex digits), so a denied
     * target such as {@code /etc/x\n... [BLOCKED] ...} cannot add a line of its own to
     * {@code log_file} (found by the escape corpus, class "fake a limit or a log line").
     */
    static String oneLine(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean hide = c < 0x20 || c >= 0x7f && c <= 0x9f || c == 0x2028 || c == 0x2029 || c == 0x200e || c == 0x200f
                    || c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069;
            if (hide && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (hide) {
                b.append(String.format("\\u%04x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    private static void append(Path file, String line) throws IOException {
        Path parent = file.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
