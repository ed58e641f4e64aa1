package dev.cordon.policy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What {@code cordon policy check FILE} prints about a valid policy: the effective policy with
 * every default filled in, warnings where the policy loosens something (in the manner of gVisor's
 * {@code Warnings}: the user may mean it, but should see it), and the knobs it sets that this build
 * does not enforce yet ({@link Knob}). A pure function of the policy.
 */
public final class PolicyReport {

    /** A remark about one policy path. */
    public record Finding(String path, String message) {
        @Override
        public String toString() {
            return path + ": " + message;
        }
    }

    /** A knob set in the policy that this build does not enforce yet. */
    public record Unenforced(Knob knob, String value) {
        public String message() {
            String what = knob.path().contains("=") ? knob.path() : knob.path() + " = " + value;
            return what + ": not enforced yet (waits for: " + knob.topic() + "); until then " + knob.until();
        }

        @Override
        public String toString() {
            return message();
        }
    }

    // Thresholds for "huge" limits: well past what one agent tool call needs. A warning, not an error.
    static final int HUGE_MEMORY_MB = 8192;
    static final int HUGE_SECONDS = 1800;
    static final int HUGE_OUTPUT_MB = 100;
    static final int HUGE_PROCESSES = 32;
    static final long HUGE_DISK_MB = 10240;
    static final long PERSISTENT_DISK_MB = 1024;
    static final int HUGE_RUNTIME_SECONDS = 600;

    private final Policy policy;
    private final List<Finding> warnings;
    private final List<Unenforced> notEnforced;

    private PolicyReport(Policy policy) {
        this.policy = policy;
        this.warnings = List.copyOf(warnings(policy));
        List<Unenforced> ne = new ArrayList<>();
        for (Knob k : Knob.values()) {
            if (!k.enforced() && k.isSet(policy)) {
                ne.add(new Unenforced(k, k.valueIn(policy)));
            }
        }
        this.notEnforced = List.copyOf(ne);
    }

    public static PolicyReport of(Policy policy) {
        return new PolicyReport(policy);
    }

    public Policy policy() {
        return policy;
    }

    /** The whole effective policy as canonical YAML; {@link PolicyLoader#parse} reads it back equal. */
    public String effectiveYaml() {
        return PolicyYaml.write(policy);
    }

    /** Where the policy loosens something, in schema order. */
    public List<Finding> warnings() {
        return warnings;
    }

    /** The knobs this policy sets (departs from the default) that this build does not enforce yet. */
    public List<Unenforced> notEnforced() {
        return notEnforced;
    }

    /** The text {@code cordon policy check} prints: effective policy, warnings, not-enforced knobs. */
    public String text() {
        StringBuilder b = new StringBuilder();
        b.append("# Effective policy").append(policy.source() == null ? "" : " of " + policy.source())
                .append(" (every key, defaults filled in)\n");
        b.append(effectiveYaml());
        b.append("\n# Warnings: ").append(warnings.isEmpty() ? "none" : warnings.size()).append('\n');
        for (Finding w : warnings) {
            b.append("warning: ").append(w).append('\n');
        }
        b.append("\n# Not enforced yet: ").append(notEnforced.isEmpty() ? "none" : notEnforced.size()).append('\n');
        for (Unenforced u : notEnforced) {
            b.append("not enforced: ").append(u.message()).append('\n');
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- warnings

    /** Shells: each runs any command, so allowing one makes allowed_commands moot. */
    static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish",
            "ash", "busybox", "rbash");
    /** Interpreters: each runs arbitrary code ({@code python -c ...}) in a new process. */
    static final Pattern INTERPRETER = Pattern.compile(
            "python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*|luajit"
                    + "|tclsh[0-9.]*|wish|Rscript|R|java|jshell|gawk|awk|mawk|nawk|osascript|pwsh");
    /** Commands that start other commands from their arguments (argument injection). */
    static final Set<String> RUNNERS = Set.of("env", "xargs", "find", "nice", "nohup", "timeout", "stdbuf",
            "setsid", "strace", "ltrace", "gdb", "watch", "time", "chroot", "unshare", "nsenter", "flock", "make",
            "git", "sed", "vim", "vi", "ex", "less", "more", "man", "tar", "zip", "ssh", "rsync", "script", "parallel",
            "expect", "ionice", "taskset", "chrt", "systemd-run", "run-parts", "install", "dpkg", "apt", "apt-get");
    static final Set<String> PRIVILEGE = Set.of("sudo", "su", "doas", "pkexec", "runuser", "setpriv", "capsh");
    static final Set<String> INSTALLERS = Set.of("pip", "pip3", "uv", "conda", "mamba", "poetry", "pipx",
            "easy_install", "npm", "yarn", "pnpm", "gem", "cargo", "go");

    private static List<Finding> warnings(Policy p) {
        List<Finding> w = new ArrayList<>();
        NetworkPolicy n = p.network();
        LoggingPolicy l = p.logging();
        switch (n.mode()) {
            case PERMISSIVE -> w.add(new Finding("network.policy", "permissive: guest code may connect to any host"
                    + " and port" + (l.egress() ? "" : ", and without network.logging.egress: true nothing records where")
                    + "; prefer restricted with an allowlist"));
            case DENY -> {
                if (!n.allowlist().isEmpty()) {
                    w.add(new Finding("network.allowlist", "ignored: network.policy is deny"));
                }
            }
            case RESTRICTED -> {
                if (n.allowlist().isEmpty()) {
                    w.add(new Finding("network.allowlist", "empty: restricted allows no host, the same as deny"));
                }
            }
        }
        if (n.mode() == NetworkPolicy.Mode.PERMISSIVE && !n.allowlist().isEmpty()) {
            w.add(new Finding("network.allowlist", "ignored: network.policy is permissive (every host is allowed)"));
        }
        if (n.mode() == NetworkPolicy.Mode.RESTRICTED) {
            for (int i = 0; i < n.allowlist().size(); i++) {
                NetworkPolicy.AllowEntry e = n.allowlist().get(i);
                String path = "network.allowlist[" + i + "]";
                if (e.domain() != null && Domains.isWildcard(e.domain())) {
                    String suffix = e.domain().substring(2);
                    w.add(new Finding(path + ".domain", suffix.indexOf('.') < 0
                            ? e.domain() + " matches every host under the top-level domain ." + suffix
                            : e.domain() + " matches every subdomain of " + suffix + ", at any depth"
                                    + " (whoever controls a subdomain can receive data)"));
                }
                if (e.cidr() != null) {
                    cidrWarnings(e.cidr(), path + ".cidr", w);
                }
                if (e.ports().isEmpty()) {
                    w.add(new Finding(path + ".ports", "not given: every port of "
                            + (e.domain() != null ? e.domain() : e.cidr().text()) + " is allowed"));
                }
            }
        }
        if (n.allowListen()) {
            w.add(new Finding("network.allow_listen", "guest code may listen on loopback ports; other local"
                    + " processes can connect to them"));
        }
        if (l.logBodies()) {
            w.add(new Finding("network.logging.log_bodies", l.egress()
                    ? "request and response bytes are logged; they may hold credentials and personal data"
                            + (p.subprocess().allow() || p.engine() != Policy.EngineKind.GRAALPY
                                    ? " (in-JVM tier only: subprocesses and the native engine connect through the"
                                            + " egress proxy, whose log entries have no bodies)"
                                    : "")
                    : "has no effect without network.logging.egress: true"));
        }

        PackagesPolicy.Python py = p.packages().python();
        if (py.allowInstall()) {
            if (py.approvedPackages().isEmpty()) {
                w.add(new Finding("packages.python.allow_install", "true with no approved_packages: guest code may"
                        + " install any package from the index (install scripts run arbitrary code);"
                        + " list the packages in approved_packages"));
            }
            if (py.indexUrl() != null && "http".equalsIgnoreCase(py.indexUrl().getScheme())) {
                w.add(new Finding("packages.python.index_url", "plain http: packages can be altered in transit;"
                        + " use https"));
            }
        } else if (!py.approvedPackages().isEmpty()) {
            w.add(new Finding("packages.python.approved_packages", "has no effect while allow_install is false"));
        }
        if (py.indexUrl() != null && py.indexUrl().getRawUserInfo() != null) {
            w.add(new Finding("packages.python.index_url", "holds credentials; anyone who can read the policy"
                    + " (or its describe text) sees them"));
        }

        FilesystemPolicy f = p.filesystem();
        if (f.maxSizeMb() > HUGE_DISK_MB) {
            w.add(new Finding("filesystem.max_size_mb", f.maxSizeMb() + " MB is a very large workspace quota"));
        } else if (f.writable() && f.persistAcrossCalls() && f.maxSizeMb() > PERSISTENT_DISK_MB) {
            w.add(new Finding("filesystem.max_size_mb", "writable and persistent: guest code can accumulate "
                    + f.maxSizeMb() + " MB across the calls of a session"));
        }

        SubprocessPolicy s = p.subprocess();
        if (s.allow()) {
            List<String> effective = s.allowedCommands().stream().filter(c -> !s.blockedCommands().contains(c)).toList();
            if (effective.isEmpty()) {
                w.add(new Finding("subprocess.allowed_commands", "allow is true but no command is allowed"
                        + " (nothing can start); list the commands"));
            }
            for (int i = 0; i < s.allowedCommands().size(); i++) {
                String c = s.allowedCommands().get(i);
                if (s.blockedCommands().contains(c)) {
                    continue;
                }
                String why = commandRisk(c);
                if (why != null) {
                    w.add(new Finding("subprocess.allowed_commands[" + i + "]", c + ": " + why));
                }
            }
            for (String c : s.blockedCommands()) {
                if (s.allowedCommands().contains(c)) {
                    w.add(new Finding("subprocess.blocked_commands", c + " is in both lists; blocked wins"));
                }
            }
            if (s.maxRuntimeSeconds() > HUGE_RUNTIME_SECONDS) {
                w.add(new Finding("subprocess.max_runtime_seconds", s.maxRuntimeSeconds()
                        + " s lets a runaway process hold the session for long"));
            }
        } else if (!s.allowedCommands().isEmpty()) {
            w.add(new Finding("subprocess.allowed_commands", "has no effect while subprocess.allow is false"));
        }

        ResourcesPolicy r = p.resources();
        if (r.maxMemoryMb() > HUGE_MEMORY_MB) {
            w.add(new Finding("resources.max_memory_mb", r.maxMemoryMb() + " MB is a very large memory limit"));
        }
        if (r.maxCpuSeconds() > HUGE_SECONDS) {
            w.add(new Finding("resources.max_cpu_seconds", r.maxCpuSeconds() + " s is a very large CPU limit"));
        }
        if (r.maxWallSeconds() > HUGE_SECONDS) {
            w.add(new Finding("resources.max_wall_seconds", r.maxWallSeconds() + " s is a very long call"));
        }
        if (r.maxWallSeconds() < r.maxCpuSeconds()) {
            w.add(new Finding("resources.max_wall_seconds", r.maxWallSeconds() + " s is less than max_cpu_seconds ("
                    + r.maxCpuSeconds() + " s): a single-threaded call hits the wall clock first"));
        }
        if (r.maxOutputSizeMb() > HUGE_OUTPUT_MB) {
            w.add(new Finding("resources.max_output_size_mb", r.maxOutputSizeMb()
                    + " MB of output is held in memory and may be passed to a model"));
        }
        if (r.maxProcesses() > HUGE_PROCESSES) {
            w.add(new Finding("resources.max_processes", r.maxProcesses() + " processes at once is a lot"));
        }

        if (!l.logBlockedOperations()) {
            w.add(new Finding("logging.log_blocked_operations", "false: denials are not written to log_file"
                    + " (they still reach the call's result)"));
        }
        String[][] logs = {{"logging.log_file", l.logFile()}, {"logging.audit_file", l.auditFile()},
            {"logging.egress_file", l.egressFile()}};
        for (String[] e : logs) {
            if (e[1] != null && !GuestPaths.isBelow(e[1], f.workspaceDir())) {
                w.add(new Finding(e[0], e[1] + " is outside the workspace: the host writes it at that host path,"
                        + " and guest code cannot read it"));
            }
        }
        return w;
    }

    /** Why allowing command {@code c} widens more than it seems, or null. */
    static String commandRisk(String c) {
        if (SHELLS.contains(c)) {
            return "a shell runs any command, which makes allowed_commands moot";
        }
        if (INTERPRETER.matcher(c).matches()) {
            return "an interpreter runs arbitrary code in a new process (e.g. " + c + " -c/-e ...)";
        }
        if (PRIVILEGE.contains(c)) {
            return "a privilege tool; never needed by tool code";
        }
        if (INSTALLERS.contains(c)) {
            return "a package installer runs build scripts and bypasses packages.python.approved_packages";
        }
        if (RUNNERS.contains(c)) {
            return "can start other programs from its arguments (argument injection)";
        }
        return null;
    }

    private static void cidrWarnings(Cidr c, String path, List<Finding> w) {
        int bits = c.network().length * 8;
        if (c.prefix() == 0) {
            w.add(new Finding(path, c.text() + " is every IPv" + (bits == 32 ? 4 : 6) + " address; use policy:"
                    + " permissive if that is meant"));
        } else if ((bits == 32 && c.prefix() < 16) || (bits == 128 && c.prefix() < 48)) {
            BigInteger size = BigInteger.ONE.shiftLeft(bits - c.prefix());
            w.add(new Finding(path, c.text() + " is a broad range (" + String.format(Locale.ROOT, "%,d", size)
                    + " addresses)"));
        }
        if (bits == 32) {
            if (c.contains(new byte[] {(byte) 169, (byte) 254, (byte) 169, (byte) 254})) {
                w.add(new Finding(path, c.text() + " includes 169.254.169.254, the cloud metadata service"
                        + " (instance credentials)"));
            }
            if (c.contains(new byte[] {127, 0, 0, 1})) {
                w.add(new Finding(path, c.text() + " includes loopback (127.0.0.1): services on the host itself"));
            }
        } else {
            byte[] loop = new byte[16];
            loop[15] = 1;
            if (c.contains(loop)) {
                w.add(new Finding(path, c.text() + " includes loopback (::1): services on the host itself"));
            }
            byte[] metadata = IpLiteral.parseV6("fd00:ec2::254");
            if (c.contains(metadata)) {
                w.add(new Finding(path, c.text() + " includes fd00:ec2::254, the cloud metadata service"));
            }
        }
    }
}
