package dev.cordon.policy;

import java.nio.file.Path;
import java.util.Objects;

/**
 * An execution policy: the whole {@code openclaw.exec.yaml} schema, parsed once and immutable.
 *
 * <p>Build one with {@link PolicyLoader}; {@link #DEFAULT} is the conservative policy that applies
 * when no file is given (the same as {@code polyglot-policies/default.yaml}). Every component is
 * validated by the loader, so code holding a {@code Policy} never re-checks ranges.
 *
 * @param source     the file it was read from, or {@code null} for built-in policies
 * @param engine     {@code execution.engine} (extension key): which tier runs Python code
 * @param isolation  {@code execution.isolation} (extension key): in-process or worker JVMs
 * @param network    {@code execution.sandbox.network}
 * @param packages   {@code execution.sandbox.packages}
 * @param filesystem {@code execution.sandbox.filesystem}
 * @param subprocess {@code execution.sandbox.subprocess}
 * @param resources  {@code execution.sandbox.resources}
 * @param logging    {@code execution.logging} or {@code execution.sandbox.logging} (one of them)
 */
public record Policy(
        Path source,
        EngineKind engine,
        Isolation isolation,
        NetworkPolicy network,
        PackagesPolicy packages,
        FilesystemPolicy filesystem,
        SubprocessPolicy subprocess,
        ResourcesPolicy resources,
        LoggingPolicy logging) {

    public Policy {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(isolation, "isolation");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(packages, "packages");
        Objects.requireNonNull(filesystem, "filesystem");
        Objects.requireNonNull(subprocess, "subprocess");
        Objects.requireNonNull(resources, "resources");
        Objects.requireNonNull(logging, "logging");
    }

    /** The conservative built-in policy: no network, no processes, no installs, small limits. */
    public static final Policy DEFAULT = new Policy(
            null,
            EngineKind.AUTO,
            Isolation.IN_PROCESS,
            NetworkPolicy.DENY_ALL,
            PackagesPolicy.NONE,
            FilesystemPolicy.DEFAULT,
            SubprocessPolicy.DENY_ALL,
            ResourcesPolicy.DEFAULT,
            LoggingPolicy.DEFAULT);

    /** {@code execution.engine}: {@code graalpy | native | auto}. */
    public enum EngineKind {
        GRAALPY, NATIVE, AUTO;

        public String yamlName() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** {@code execution.isolation}: {@code in-process | worker}. */
    public enum Isolation {
        IN_PROCESS, WORKER;

        public String yamlName() { return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'); }
    }

    /**
     * Cordon's own log files as guest paths, where the policy puts them: {@code log_file},
     * {@code audit_file}, and the egress log ({@code egress_file}, or by default
     * {@code <workspace_dir>/.cordon/egress.jsonl} when egress is recorded: {@code logging.egress},
     * or {@code policy: permissive}). Those inside the workspace are readable by guest code and
     * never writable, in both tiers.
     */
    public java.util.List<String> logFiles() {
        java.util.List<String> out = new java.util.ArrayList<>(3);
        if (logging.logFile() != null) {
            out.add(logging.logFile());
        }
        if (logging.auditFile() != null) {
            out.add(logging.auditFile());
        }
        String egress = egressLogFile();
        if (egress != null) {
            out.add(egress);
        }
        return java.util.List.copyOf(out);
    }

    /** Where allowed connections are recorded (a guest path when inside the workspace), or null when they are not. */
    public String egressLogFile() {
        boolean wanted = logging.egress() || network.mode() == NetworkPolicy.Mode.PERMISSIVE;
        if (!wanted || network.mode() == NetworkPolicy.Mode.DENY) {
            return null;
        }
        return logging.egressFile() != null ? logging.egressFile() : filesystem.workspaceDir() + "/.cordon/egress.jsonl";
    }

    public Policy withSource(Path newSource) {
        return new Policy(newSource, engine, isolation, network, packages, filesystem, subprocess, resources, logging);
    }

    public Policy withFilesystem(FilesystemPolicy fs) {
        return new Policy(source, engine, isolation, network, packages, fs, subprocess, resources, logging);
    }

    public Policy withNetwork(NetworkPolicy net) {
        return new Policy(source, engine, isolation, net, packages, filesystem, subprocess, resources, logging);
    }

    public Policy withSubprocess(SubprocessPolicy sp) {
        return new Policy(source, engine, isolation, network, packages, filesystem, sp, resources, logging);
    }

    public Policy withResources(ResourcesPolicy r) {
        return new Policy(source, engine, isolation, network, packages, filesystem, subprocess, r, logging);
    }

    public Policy withLogging(LoggingPolicy l) {
        return new Policy(source, engine, isolation, network, packages, filesystem, subprocess, resources, l);
    }

    public Policy withEngine(EngineKind e) {
        return new Policy(source, e, isolation, network, packages, filesystem, subprocess, resources, logging);
    }
}
