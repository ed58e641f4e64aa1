package dev.cordon.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The policy as plain text for an agent's system prompt or tool description: the guide's advice
 * ("tell the agent where it can write, which APIs it has") made automatic. Half the violations in
 * practice come from an agent nobody told about its sandbox.
 *
 * <p>It describes what actually happens in this build, not only what the file says: a knob that is
 * not enforced yet ({@link Knob}) is described by what the product does instead (no network, no
 * processes, standard library only), because telling an agent it may reach a host that this build
 * will refuse only wastes its steps. Every sentence is derived from the policy; nothing is
 * promised that the policy does not allow.
 */
public final class PolicyDescriber {

    private PolicyDescriber() { }

    /** The constraints of {@code p} as this build enforces them. */
    public static String describe(Policy p) {
        return describe(p, Knob::enforced);
    }

    /** As {@link #describe(Policy)}, with the enforcement status given (tests use "all enforced"). */
    static String describe(Policy p, Predicate<Knob> enforced) {
        StringBuilder b = new StringBuilder();
        b.append("Python code you run executes in a sandbox with these rules.\n");
        files(p, b);
        network(p, enforced, b);
        packages(p, enforced, b);
        commands(p, enforced, b);
        limits(p, enforced, b);
        blocked(p, b);
        return b.toString();
    }

    private static void files(Policy p, StringBuilder b) {
        FilesystemPolicy f = p.filesystem();
        String ws = f.workspaceDir();
        b.append("\nFiles\n");
        bullet(b, "Work under " + ws + "/: every file you read or write must be inside it. Other paths are"
                + " blocked (the Python standard library stays importable).");
        bullet(b, "Files the user uploaded are in " + f.uploadDir() + "/.");
        if (f.writable()) {
            bullet(b, "Save output files in " + f.outputDir() + "/; they are returned after each call.");
            bullet(b, "/tmp is a private temp dir counted in the workspace quota.");
            bullet(b, "The workspace holds at most " + f.maxSizeMb() + " MB in total; a write beyond that fails"
                    + " with OSError (no space).");
        } else {
            bullet(b, "The workspace is read-only: you can read files but not create, change or delete any.");
        }
        if (f.persistAcrossCalls()) {
            bullet(b, "Files and Python variables persist across calls in this session.");
        } else {
            bullet(b, "Each call starts fresh: Python variables" + (f.writable() ? " and files you wrote" : "")
                    + " are gone at the next call (uploads stay). Do everything a task needs in one call.");
        }
    }

    private static void network(Policy p, Predicate<Knob> enforced, StringBuilder b) {
        NetworkPolicy n = p.network();
        b.append("\nNetwork\n");
        NetworkPolicy.Mode mode = enforced.test(Knob.NETWORK_POLICY) ? n.mode() : NetworkPolicy.Mode.DENY;
        List<NetworkPolicy.AllowEntry> list = enforced.test(Knob.NETWORK_ALLOWLIST) ? n.allowlist() : List.of();
        if (mode == NetworkPolicy.Mode.RESTRICTED && list.isEmpty()) {
            mode = NetworkPolicy.Mode.DENY;
        }
        switch (mode) {
            case DENY -> bullet(b, "No network access: every connection fails. Do not try to download or call"
                    + " web APIs.");
            case PERMISSIVE -> bullet(b, "You may connect to any host.");
            case RESTRICTED -> {
                List<String> targets = new ArrayList<>();
                for (NetworkPolicy.AllowEntry e : list) {
                    targets.add(target(e));
                }
                bullet(b, "You may connect only to: " + String.join("; ", targets)
                        + ". Every other host is blocked.");
            }
        }
        if (mode != NetworkPolicy.Mode.DENY && p.logging().egress() && enforced.test(Knob.NETWORK_LOGGING_EGRESS)) {
            bullet(b, "Every connection is logged.");
        }
        if (n.allowListen() && enforced.test(Knob.NETWORK_ALLOW_LISTEN)) {
            bullet(b, "You may listen on loopback (127.0.0.1) ports.");
        }
    }

    private static String target(NetworkPolicy.AllowEntry e) {
        String what;
        if (e.domain() != null) {
            what = Domains.isWildcard(e.domain())
                    ? "any subdomain of " + e.domain().substring(2) + " (" + e.domain() + ")"
                    : e.domain();
        } else {
            int bits = e.cidr().network().length * 8;
            what = e.cidr().prefix() == bits ? "the address " + IpLiteral.format(e.cidr().network())
                    : "addresses in " + e.cidr().text();
        }
        if (e.ports().isEmpty()) {
            return what + " (any port)";
        }
        List<String> ports = e.ports().stream().map(String::valueOf).toList();
        return what + " (port" + (ports.size() > 1 ? "s " : " ") + String.join(", ", ports) + ")";
    }

    private static void packages(Policy p, Predicate<Knob> enforced, StringBuilder b) {
        PackagesPolicy.Python py = p.packages().python();
        b.append("\nPackages\n");
        List<String> pre = enforced.test(Knob.PACKAGES_PREINSTALLED) ? py.preinstalled() : List.of();
        if (pre.isEmpty()) {
            bullet(b, "Only the Python standard library is available.");
        } else {
            bullet(b, "Preinstalled (import them directly): " + String.join(", ", pre) + ".");
        }
        boolean install = py.allowInstall() && enforced.test(Knob.PACKAGES_ALLOW_INSTALL)
                && enforced.test(Knob.PACKAGES_APPROVED);
        if (!install) {
            bullet(b, "Installing packages is not possible" + (pre.isEmpty() ? "; solve tasks with the standard"
                    + " library." : "."));
        } else {
            // Credentials in index_url are for the installer, never for the agent's prompt.
            String from = py.indexUrl() != null && enforced.test(Knob.PACKAGES_INDEX_URL)
                    ? " from " + withoutCredentials(py.indexUrl()) : "";
            bullet(b, (py.approvedPackages().isEmpty()
                    ? "You may install packages" + from + " when you need them"
                    : "You may install only these packages" + from + ": " + String.join(", ", py.approvedPackages()))
                    + ", with `pip install NAME` (run as a subprocess, e.g. subprocess.run([\"pip\", \"install\", \"NAME\"]));"
                    + " they are importable right after. Any other install is blocked."
                    + (p.filesystem().persistAcrossCalls() ? "" : " Installed packages last for one call only."));
        }
    }

    private static String withoutCredentials(java.net.URI u) {
        if (u.getRawUserInfo() == null) {
            return u.toString();
        }
        return u.getScheme() + "://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "")
                + (u.getRawPath() == null ? "" : u.getRawPath());
    }

    private static void commands(Policy p, Predicate<Knob> enforced, StringBuilder b) {
        SubprocessPolicy s = p.subprocess();
        b.append("\nCommands\n");
        boolean on = enforced.test(Knob.SUBPROCESS_ALLOW) && enforced.test(Knob.SUBPROCESS_ALLOWED_COMMANDS)
                && enforced.test(Knob.SUBPROCESS_BLOCKED_COMMANDS);
        List<String> startable = on ? PolicyOrder.startable(s) : List.of();
        if (startable.isEmpty()) {
            bullet(b, "Running commands (subprocess, os.system, os.popen) is not allowed: use Python code instead.");
            return;
        }
        String each = enforced.test(Knob.SUBPROCESS_MAX_RUNTIME)
                ? " (each may run up to " + s.maxRuntimeSeconds() + " s)" : "";
        bullet(b, "You may run only these commands" + each + ": " + String.join(", ", startable)
                + ". Every other command is blocked.");
        List<String> vetoed = s.blockedCommands().stream().filter(c -> !startable.contains(c)).toList();
        if (!vetoed.isEmpty()) {
            bullet(b, "Always blocked: " + String.join(", ", vetoed) + ".");
        }
        if (enforced.test(Knob.RESOURCES_MAX_PROCESSES)) {
            bullet(b, "At most " + p.resources().maxProcesses() + " process" + (p.resources().maxProcesses() == 1
                    ? "" : "es") + " at a time.");
        }
    }

    private static void limits(Policy p, Predicate<Knob> enforced, StringBuilder b) {
        ResourcesPolicy r = p.resources();
        b.append("\nLimits per call\n");
        List<String> parts = new ArrayList<>();
        if (enforced.test(Knob.RESOURCES_MAX_CPU_SECONDS)) {
            parts.add(r.maxCpuSeconds() + " s of CPU time");
        }
        if (enforced.test(Knob.RESOURCES_MAX_WALL_SECONDS)) {
            parts.add(r.maxWallSeconds() + " s of wall-clock time");
        }
        if (enforced.test(Knob.RESOURCES_MAX_MEMORY_MB)) {
            parts.add(r.maxMemoryMb() + " MB of memory");
        }
        if (enforced.test(Knob.RESOURCES_MAX_OUTPUT_SIZE_MB)) {
            parts.add(r.maxOutputSizeMb() + " MB of output (stdout and stderr together; more is cut off)");
        }
        if (!parts.isEmpty()) {
            bullet(b, String.join(", ", parts) + ". A call that exceeds a limit is stopped; keep work within them"
                    + " (process data in chunks, print summaries rather than whole datasets).");
        }
    }

    private static void blocked(Policy p, StringBuilder b) {
        LoggingPolicy l = p.logging();
        b.append("\nWhen something is blocked\n");
        bullet(b, "The operation fails with PermissionError (or another OSError) whose message names the rule"
                + " that blocked it. Do not retry the same operation; change the approach.");
        if (l.logBlockedOperations() && l.logFile() != null) {
            if (GuestPaths.isBelow(l.logFile(), p.filesystem().workspaceDir())) {
                bullet(b, "Blocked operations are recorded in " + l.logFile() + " (read-only for you); read its last"
                        + " lines to see what was blocked.");
            } else {
                bullet(b, "Blocked operations are recorded by the host.");
            }
        }
    }

    private static void bullet(StringBuilder b, String s) {
        b.append("- ").append(s).append('\n');
    }
}
