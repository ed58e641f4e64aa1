package dev.cordon.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.fs.HostAppend;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.LoggingPolicy.Level;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one audit stream of a session. Every denial a gate enforces goes through
 * {@link #blocked(Decision.Deny)}, which appends to (each optional):
 * <ul>
 *   <li>the policy's {@code log_file}: one guide-format line, {@code TIME session=NAME [BLOCKED] ...},
 *       when {@code log_blocked_operations} is on (whatever {@code level} says: the switch is the
 *       guide's, and a user who set it expects the lines);</li>
 *   <li>the JSON-lines stream ({@link AuditEvent}, schema {@value AuditEvent#SCHEMA});</li>
 *   <li>the current call's {@code blocked} list, returned in its result.</li>
 * </ul>
 * {@code logging.level} decides the other {@code log_file} lines (docs/audit.md): {@code error}
 * engine failures; {@code warn} adds limits that ended a call and suppressed denials; {@code info}
 * (default) adds session open/close and policy reloads; {@code debug} adds one summary per call.
 *
 * <p>Only the host writes these files. Inside the workspace the filesystem gate keeps them
 * read-only for in-JVM guest code, and the host writes them without following links
 * ({@link HostAppend}) because native-tier processes write the workspace directly. At most
 * {@value #MAX_WRITTEN_PER_CALL} denials per call are written one by one; the rest are counted in
 * one line, so a guest in a denial loop cannot fill the host's disk.
 *
 * <p>Thread-safe: guest threads of one session may be denied concurrently. Never throws: a log that
 * cannot be written is reported on stderr once per file and cause, and the denial still stands.
 */
public final class Audit implements DenialSink {

    private static final AtomicLong IDS = new AtomicLong();
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Bound on the {@code blocked} entries kept per call; a guest in a loop must not grow the host heap. */
    static final int MAX_BLOCKED_PER_CALL = 200;
    /** Bound on the denials written to the files per call; a guest in a loop must not fill the host's disk. */
    static final int MAX_WRITTEN_PER_CALL = 1000;
    /** Problems already reported on stderr (file + message), so a broken log does not flood it. */
    private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();

    private final String session;
    private final LoggingPolicy logging;
    private final Path logFile;
    private final Path jsonlFile;
    private final Path workspace;
    private final List<Decision.Deny> current = new ArrayList<>();
    private int droppedThisCall;
    private int writtenThisCall;
    private int suppressedThisCall;
    private long calls;

    /**
     * Files by host path: for logs outside any workspace, and for tests.
     *
     * @param session   the session name, written on every line
     * @param logging   the policy's logging section
     * @param logFile   host path of {@code log_file}, or null
     * @param jsonlFile host path of the JSON-lines stream, or null
     */
    public Audit(String session, LoggingPolicy logging, Path logFile, Path jsonlFile) {
        this(session, logging, logFile, jsonlFile, null);
    }

    /**
     * As above; a file under {@code workspace} (the session's host workspace directory) is written
     * beneath it without following links ({@link HostAppend}).
     */
    public Audit(String session, LoggingPolicy logging, Path logFile, Path jsonlFile, Path workspace) {
        this.session = session;
        this.logging = logging;
        this.logFile = logFile == null ? null : logFile.toAbsolutePath().normalize();
        this.jsonlFile = jsonlFile == null ? null : jsonlFile.toAbsolutePath().normalize();
        this.workspace = workspace == null ? null : workspace.toAbsolutePath().normalize();
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
        String id = newId(now);
        String line = null;
        String json = null;
        synchronized (this) {
            if (current.size() < MAX_BLOCKED_PER_CALL) {
                current.add(deny);
            } else {
                droppedThisCall++;
            }
            if (writtenThisCall >= MAX_WRITTEN_PER_CALL) {
                suppressedThisCall++;
                return;
            }
            writtenThisCall++;
        }
        if (logFile != null && logging.logBlockedOperations()) {
            line = prefix(now) + LogLine.blocked(deny) + "\n";
        }
        if (jsonlFile != null) {
            json = json(AuditEvent.of(id, now.toString(), session, deny)) + "\n";
        }
        write(line, json);
    }

    /** Appends a line at {@code level} to {@code log_file} when the policy's level enables it. */
    public void info(Level level, String message) {
        if (logFile == null || !logging.level().enables(level)) {
            return;
        }
        write(prefix(Instant.now()) + "[" + level.name() + "] " + LogLine.text(message) + "\n", null);
    }

    /** The session started on this policy (info). */
    public void sessionOpened(Policy p, boolean nativeEngine) {
        if (enabled(Level.INFO)) {
            info(Level.INFO, "session opened: engine=" + (nativeEngine ? "native" : "graalpy") + " policy="
                    + source(p) + " workspace=" + LogLine.value(p.filesystem().workspaceDir()) + " network="
                    + p.network().mode().yamlName() + " subprocess=" + (p.subprocess().allow() ? "allowed" : "none"));
        }
    }

    /** The session now runs on {@code p} (dev-mode reload; info). */
    public void reloaded(Policy p) {
        info(Level.INFO, "policy reloaded: " + source(p));
    }

    /** The session closed (info). */
    public void sessionClosed() {
        long n;
        synchronized (this) {
            n = calls;
        }
        info(Level.INFO, "session closed after " + n + " call" + (n == 1 ? "" : "s") + " on this policy");
    }

    /**
     * A call ended with {@code r}: writes what the level asks for (a suppression count, a limit, an
     * engine failure, the debug summary) and starts the per-call bounds afresh.
     */
    public void callEnded(ExecResult r) {
        int suppressed;
        long n;
        synchronized (this) {
            suppressed = suppressedThisCall;
            suppressedThisCall = 0;
            writtenThisCall = 0;
            n = ++calls;
        }
        Instant now = Instant.now();
        if (suppressed > 0) {
            if (logFile != null && logging.level().enables(Level.WARN)) {
                write(prefix(now) + "[WARN] suppressed=" + suppressed + " call=" + n + ": further denials of this call "
                        + "were not written one by one (at most " + MAX_WRITTEN_PER_CALL + " per call); see the call's "
                        + "result\n", null);
            }
            if (jsonlFile != null) {
                write(null, json(AuditEvent.suppressed(newId(now), now.toString(), session, suppressed)) + "\n");
            }
        }
        if (logFile == null) {
            return;
        }
        ExecResult.Error e = r.error();
        if (e != null && ENGINE_FAILURES.contains(e.type())) {
            info(Level.ERROR, "engine failure call=" + n + " engine=" + r.engine() + ": " + e.type() + ": " + e.message());
        }
        if (r.limit() != null) {
            info(Level.WARN, "limit=" + r.limit().json() + " call=" + n + " engine=" + r.engine() + ": "
                    + (e == null ? "" : e.message()));
        }
        for (String notice : r.notices()) {
            if (!notice.startsWith("policy reloaded")) { // a good reload has its own line (reloaded)
                info(Level.INFO, "notice call=" + n + ": " + notice);
            }
        }
        if (enabled(Level.DEBUG)) {
            info(Level.DEBUG, "call=" + n + " status=" + r.status().json() + " engine=" + r.engine() + " wall_ms="
                    + r.timing().wallMs() + " cpu_ms=" + r.timing().cpuMs() + " blocked=" + r.blocked().size()
                    + " stdout_chars=" + r.stdout().length() + " stderr_chars=" + r.stderr().length() + " outputs="
                    + r.outputs().size() + (r.error() == null ? "" : " error=" + r.error().type()));
        }
    }

    /** Result error types that mean the sandbox machinery failed, not the guest's code. */
    private static final Set<String> ENGINE_FAILURES = Set.of("EngineError", "WorkerDied", "NativeTierUnavailable");

    private boolean enabled(Level level) {
        return logFile != null && logging.level().enables(level);
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

    private String prefix(Instant now) {
        return now + " session=" + LogLine.value(session) + " ";
    }

    private static String source(Policy p) {
        return p.source() == null ? "(not from a file)" : LogLine.value(p.source().toString());
    }

    private static String newId(Instant now) {
        return "d" + Long.toString(now.toEpochMilli(), 36) + "-" + IDS.incrementAndGet();
    }

    /**
     * Appends the log line and the JSON line, each in one write. The two files are appended under
     * the class lock, so that lines of concurrent sessions sharing one file (a sandbox-wide
     * {@code auditJsonl}) never interleave and each file's order is the order of decisions.
     */
    private void write(String line, String json) {
        if (line == null && json == null) {
            return;
        }
        synchronized (Audit.class) {
            if (line != null) {
                append(logFile, line);
            }
            if (json != null) {
                append(jsonlFile, json);
            }
        }
    }

    private void append(Path file, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        try {
            if (workspace != null && file.startsWith(workspace) && !file.equals(workspace)) {
                HostAppend.append(workspace, workspace.relativize(file).toString(), bytes);
            } else {
                Path parent = file.getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                Files.write(file, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            // The audit must never take the call down with it; the denial itself still stands.
            String m = file + ": " + e.getMessage();
            if (REPORTED.size() < 1000 && REPORTED.add(m)) {
                System.err.println("cordon: cannot write audit log " + m);
            }
        }
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
