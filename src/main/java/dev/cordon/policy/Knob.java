package dev.cordon.policy;

import java.util.function.Function;

/**
 * The one table of what this build enforces. Every policy key is a knob; a knob is
 * {@link Status#ENFORCED} once a gate applies it, {@link Status#NOT_YET} before. The lead flips a
 * row when its gate lands, and everything else follows: {@code policy check} lists the knobs a
 * policy sets that are NOT_YET ({@link PolicyReport#notEnforced()}), {@link PolicyDescriber} tells
 * the agent what actually happens instead, and {@code docs/policy-reference.md} shows the same
 * status (a test keeps it in step).
 *
 * <p>Paths are short (relative to {@code execution.sandbox}; {@code logging.*} is whichever logging
 * section the file uses). A knob counts as set when its value differs from {@link Policy#DEFAULT}:
 * while a knob is NOT_YET the product behaves as the conservative default (no network, no
 * processes, no packages beyond the standard library), so only a departure from it goes missing.
 */
public enum Knob {
    // execution (extension keys)
    ENGINE_NATIVE("execution.engine=native", Status.ENFORCED, "native tier",
            "Python runs in the in-JVM GraalPy tier instead", p -> p.engine() == Policy.EngineKind.NATIVE),
    ISOLATION_WORKER("execution.isolation=worker", Status.ENFORCED, "worker isolation",
            "sessions run in the host JVM", p -> p.isolation() == Policy.Isolation.WORKER),

    // network
    NETWORK_POLICY("network.policy", Status.ENFORCED, "network gate",
            "every connection is refused", p -> p.network().mode().yamlName()),
    NETWORK_ALLOWLIST("network.allowlist", Status.ENFORCED, "network gate",
            "no host can be reached", p -> p.network().allowlist()),
    NETWORK_ALLOW_LISTEN("network.allow_listen", Status.ENFORCED, "network gate",
            "listening sockets are refused", p -> p.network().allowListen()),
    NETWORK_LOGGING_EGRESS("network.logging.egress", Status.ENFORCED, "network gate",
            "no egress records are written", p -> p.logging().egress()),
    NETWORK_LOGGING_LOG_BODIES("network.logging.log_bodies", Status.ENFORCED, "network gate",
            "no bodies are logged", p -> p.logging().logBodies()),

    // packages
    PACKAGES_PREINSTALLED("packages.python.preinstalled", Status.ENFORCED, "packages",
            "only the standard library is provided", p -> p.packages().python().preinstalled()),
    PACKAGES_ALLOW_INSTALL("packages.python.allow_install", Status.ENFORCED, "packages",
            "installs are refused", p -> p.packages().python().allowInstall()),
    PACKAGES_APPROVED("packages.python.approved_packages", Status.ENFORCED, "packages",
            "installs are refused", p -> p.packages().python().approvedPackages()),
    PACKAGES_INDEX_URL("packages.python.index_url", Status.ENFORCED, "packages",
            "installs are refused", p -> p.packages().python().indexUrl()),

    // filesystem
    FILESYSTEM_WORKSPACE_DIR("filesystem.workspace_dir", Status.ENFORCED, "filesystem gate", "",
            p -> p.filesystem().workspaceDir()),
    FILESYSTEM_WRITABLE("filesystem.writable", Status.ENFORCED, "filesystem gate", "",
            p -> p.filesystem().writable()),
    FILESYSTEM_MAX_SIZE_MB("filesystem.max_size_mb", Status.ENFORCED, "filesystem gate", "",
            p -> p.filesystem().maxSizeMb()),
    FILESYSTEM_PERSIST("filesystem.persist_across_calls", Status.ENFORCED, "filesystem gate", "",
            p -> p.filesystem().persistAcrossCalls()),
    FILESYSTEM_UPLOAD_DIR("filesystem.upload_dir", Status.ENFORCED, "filesystem gate", "",
            p -> p.filesystem().uploadDir()),
    FILESYSTEM_OUTPUT_DIR("filesystem.output_dir", Status.ENFORCED, "filesystem gate", "",
            p -> p.filesystem().outputDir()),

    // subprocess
    SUBPROCESS_ALLOW("subprocess.allow", Status.ENFORCED, "native tier",
            "every process start is refused", p -> p.subprocess().allow()),
    SUBPROCESS_ALLOWED_COMMANDS("subprocess.allowed_commands", Status.ENFORCED, "native tier",
            "every process start is refused", p -> p.subprocess().allowedCommands()),
    SUBPROCESS_BLOCKED_COMMANDS("subprocess.blocked_commands", Status.ENFORCED, "native tier",
            "every process start is refused", p -> p.subprocess().blockedCommands()),
    SUBPROCESS_MAX_RUNTIME("subprocess.max_runtime_seconds", Status.ENFORCED, "native tier",
            "every process start is refused", p -> p.subprocess().maxRuntimeSeconds()),

    // resources
    RESOURCES_MAX_MEMORY_MB("resources.max_memory_mb", Status.ENFORCED, "in-JVM limits", "",
            p -> p.resources().maxMemoryMb()),
    RESOURCES_MAX_CPU_SECONDS("resources.max_cpu_seconds", Status.ENFORCED, "in-JVM limits", "",
            p -> p.resources().maxCpuSeconds()),
    RESOURCES_MAX_OUTPUT_SIZE_MB("resources.max_output_size_mb", Status.ENFORCED, "in-JVM limits", "",
            p -> p.resources().maxOutputSizeMb()),
    RESOURCES_MAX_WALL_SECONDS("resources.max_wall_seconds", Status.ENFORCED, "in-JVM limits", "",
            p -> p.resources().maxWallSeconds()),
    RESOURCES_MAX_PROCESSES("resources.max_processes", Status.ENFORCED, "native tier",
            "no child process can start at all", p -> p.resources().maxProcesses()),

    // logging
    LOGGING_LEVEL("logging.level", Status.ENFORCED, "audit", "", p -> p.logging().level().yamlName()),
    LOGGING_LOG_BLOCKED("logging.log_blocked_operations", Status.ENFORCED, "audit", "",
            p -> p.logging().logBlockedOperations()),
    LOGGING_LOG_FILE("logging.log_file", Status.ENFORCED, "audit", "", p -> p.logging().logFile()),
    LOGGING_AUDIT_FILE("logging.audit_file", Status.ENFORCED, "audit stream",
            "no JSON-lines audit file is written", p -> p.logging().auditFile()),
    LOGGING_EGRESS_FILE("logging.egress_file", Status.ENFORCED, "network gate",
            "no egress log is written", p -> p.logging().egressFile());

    public enum Status { ENFORCED, NOT_YET }

    private final String path;
    private final Status status;
    private final String topic;
    private final String until;
    private final Function<Policy, Object> value;

    Knob(String path, Status status, String topic, String until, Function<Policy, Object> value) {
        this.path = path;
        this.status = status;
        this.topic = topic;
        this.until = until;
        this.value = value;
    }

    /** Short policy path, e.g. {@code network.allowlist}, or {@code key=value} for one value of a key. */
    public String path() { return path; }

    public Status status() { return status; }

    public boolean enforced() { return status == Status.ENFORCED; }

    /** What enforces it (ENFORCED) or the work it waits for (NOT_YET), e.g. "network gate". */
    public String topic() { return topic; }

    /**
     * For a NOT_YET knob: what this build does instead, e.g. "every connection is refused". Kept
     * when the row is flipped to ENFORCED (then unused), so flipping is a one-word change.
     */
    public String until() { return until; }

    /** Whether {@code p} departs from {@link Policy#DEFAULT} on this knob. */
    public boolean isSet(Policy p) {
        return !java.util.Objects.equals(value.apply(p), value.apply(Policy.DEFAULT));
    }

    /** This knob's value in {@code p}, as YAML text. */
    public String valueIn(Policy p) {
        Object v = value.apply(p);
        return switch (v) {
            case null -> "null";
            case java.util.List<?> l -> l.isEmpty() ? "[]" : l.stream().map(Knob::item)
                    .collect(java.util.stream.Collectors.joining(", ", "[", "]"));
            case String s -> s;
            default -> String.valueOf(v);
        };
    }

    private static String item(Object o) {
        if (o instanceof NetworkPolicy.AllowEntry e) {
            String target = e.domain() != null ? e.domain() : e.cidr().text();
            return e.ports().isEmpty() ? target : target + " " + e.ports();
        }
        return String.valueOf(o);
    }
}
