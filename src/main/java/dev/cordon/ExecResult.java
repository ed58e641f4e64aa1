package dev.cordon;

import dev.cordon.decision.Decision;
import java.util.List;
import java.util.Objects;

/**
 * The result of one call, in both tiers. Its JSON form (field names as here) is the stable
 * {@code --json} schema documented in README.md.
 *
 * @param status          {@code ok}, {@code error} (guest code raised, or the engine failed) or
 *                        {@code limit} (a limit ended the call)
 * @param limit           which limit when {@code status} is {@code limit}, else null
 * @param stdout          what the guest wrote to stdout, cut at the output limit
 * @param stderr          what the guest wrote to stderr, cut at the output limit
 * @param stdoutTruncated whether the output limit cut stdout or stderr
 * @param error           the guest's exception or the engine's failure, else null
 * @param blocked         every operation the policy denied during the call
 * @param outputs         files under the policy's {@code output_dir} after the call
 * @param engine          {@code graalpy} or {@code native}
 * @param session         the session name
 * @param timing          wall and CPU time of the call
 * @param notices         things the user should know that are not the guest's output, e.g. a dev-mode
 *                        policy reload that failed and kept the last good policy; usually empty
 */
public record ExecResult(
        Status status,
        Limit limit,
        String stdout,
        String stderr,
        boolean stdoutTruncated,
        Error error,
        List<Blocked> blocked,
        List<Output> outputs,
        String engine,
        String session,
        Timing timing,
        List<String> notices) {

    public ExecResult {
        Objects.requireNonNull(status, "status");
        stdout = stdout == null ? "" : stdout;
        stderr = stderr == null ? "" : stderr;
        blocked = List.copyOf(blocked);
        outputs = List.copyOf(outputs);
        notices = notices == null ? List.of() : List.copyOf(notices);
    }

    /** A result without notices. */
    public ExecResult(Status status, Limit limit, String stdout, String stderr, boolean stdoutTruncated, Error error,
            List<Blocked> blocked, List<Output> outputs, String engine, String session, Timing timing) {
        this(status, limit, stdout, stderr, stdoutTruncated, error, blocked, outputs, engine, session, timing, List.of());
    }

    /** This result with {@code more} notices appended. */
    public ExecResult withNotices(List<String> more) {
        if (more.isEmpty()) {
            return this;
        }
        List<String> all = new java.util.ArrayList<>(notices);
        all.addAll(more);
        return new ExecResult(status, limit, stdout, stderr, stdoutTruncated, error, blocked, outputs, engine, session,
                timing, all);
    }

    /** This result with {@code denials} as its blocked list (in the order they were decided). */
    public ExecResult withBlocked(List<Decision.Deny> denials) {
        List<Blocked> all = new java.util.ArrayList<>(denials.size());
        for (Decision.Deny d : denials) {
            all.add(Blocked.of(d));
        }
        return new ExecResult(status, limit, stdout, stderr, stdoutTruncated, error, all, outputs, engine, session,
                timing, notices);
    }

    public boolean ok() {
        return status == Status.OK;
    }

    public enum Status {
        OK, ERROR, LIMIT;

        @com.fasterxml.jackson.annotation.JsonValue
        public String json() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** The limit that ended a call. */
    public enum Limit {
        CPU, WALL, MEMORY, OUTPUT, DISK, PROCESSES;

        @com.fasterxml.jackson.annotation.JsonValue
        public String json() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /**
     * @param type      the Python exception type (e.g. {@code ZeroDivisionError}), or a Cordon
     *                  status such as {@code SystemExit}, {@code EngineError}, {@code WorkerDied}.
     *                  A guest exception class named like one of {@link #CORDON_TYPES} is reported
     *                  by its qualified name ({@code __main__.WorkerDied}), so a type in that set
     *                  always comes from Cordon, never from guest code
     * @param message   its message
     * @param traceback the guest traceback as Python prints it, or null
     */
    public record Error(String type, String message, String traceback) {
        /** The error types Cordon itself reports (the native worker script keeps the same list). */
        public static final java.util.Set<String> CORDON_TYPES = java.util.Set.of("BadRequest", "Cancelled",
                "EngineError", "LimitExceeded", "NativeTierUnavailable", "PackagesUnavailable", "WorkerDied",
                "WorkerError");

        /**
         * The type to report for a guest exception: its simple name, or its qualified name when
         * the simple one is a Cordon type (qualified as {@code guest.NAME} if it has no module).
         */
        public static String guestType(String simpleName, String qualifiedName) {
            if (!CORDON_TYPES.contains(simpleName)) {
                return simpleName;
            }
            return qualifiedName != null && !qualifiedName.equals(simpleName) ? qualifiedName : "guest." + simpleName;
        }
    }

    /** One denial, as the guest and the user should see it. */
    public record Blocked(String policy, String operation, String target, String reason, String fix) {
        public static Blocked of(Decision.Deny d) {
            return new Blocked(d.rule(), d.category().word() + "." + d.operation(), d.target(), d.reason(), d.fix());
        }
    }

    /** A file in the output dir: guest path and size. */
    public record Output(String path, long bytes) { }

    public record Timing(long wallMs, long cpuMs) { }
}
