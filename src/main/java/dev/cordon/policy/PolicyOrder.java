package dev.cordon.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The "allows at most" order on policies: {@code a} allows a subset of {@code b} when every
 * operation {@code a} allows, {@code b} allows too, and every limit of {@code a} is at most
 * {@code b}'s. Pure; used to prove the presets are ordered, and usable to tell a user that a hot
 * reload widens something.
 *
 * <p>What counts:
 * <ul>
 *   <li>network: deny &lt; restricted &lt; permissive; a restricted allowlist is covered entry by entry
 *       (a domain by an equal name or a covering {@code *.suffix}, a CIDR by a containing CIDR, each
 *       port by some covering entry that allows it); {@code allow_listen}.</li>
 *   <li>packages: preinstalled names; what may be installed (an empty approved list with
 *       allow_install means "anything"); the index must be the same.</li>
 *   <li>filesystem: the same workspace; writable; persist_across_calls; max_size_mb.</li>
 *   <li>subprocess: the commands that can start (allowed minus blocked, when allow is true);
 *       max_runtime_seconds when any command can start.</li>
 *   <li>resources: every limit.</li>
 * </ul>
 * Not counted: where uploads and outputs go (layout, not permission), logging (observation, not
 * permission), engine and isolation (how the policy is enforced, not what it allows).
 */
public final class PolicyOrder {

    private PolicyOrder() { }

    /** Whether everything {@code a} allows, {@code b} allows too. */
    public static boolean allowsSubsetOf(Policy a, Policy b) {
        return excess(a, b).isEmpty();
    }

    /**
     * What {@code a} allows beyond {@code b}, one line per difference, each starting with the
     * policy path (empty when {@code a} allows a subset of {@code b}).
     */
    public static List<String> excess(Policy a, Policy b) {
        List<String> out = new ArrayList<>();
        network(a.network(), b.network(), out);
        packages(a.packages().python(), b.packages().python(), out);
        filesystem(a.filesystem(), b.filesystem(), out);
        subprocess(a.subprocess(), b.subprocess(), out);
        resources(a.resources(), b.resources(), out);
        return out;
    }

    private static void network(NetworkPolicy a, NetworkPolicy b, List<String> out) {
        if (a.allowListen() && !b.allowListen()) {
            out.add("network.allow_listen: true");
        }
        switch (a.mode()) {
            case DENY -> { }
            case PERMISSIVE -> {
                if (b.mode() != NetworkPolicy.Mode.PERMISSIVE) {
                    out.add("network.policy: permissive (the other is " + b.mode().yamlName() + ")");
                }
            }
            case RESTRICTED -> {
                if (b.mode() == NetworkPolicy.Mode.PERMISSIVE) {
                    return;
                }
                List<NetworkPolicy.AllowEntry> bl = b.mode() == NetworkPolicy.Mode.RESTRICTED ? b.allowlist() : List.of();
                for (int i = 0; i < a.allowlist().size(); i++) {
                    NetworkPolicy.AllowEntry e = a.allowlist().get(i);
                    String missing = uncoveredPorts(e, bl);
                    if (missing != null) {
                        out.add("network.allowlist[" + i + "]: " + (e.domain() != null ? e.domain() : e.cidr().text())
                                + " " + missing);
                    }
                }
            }
        }
    }

    /** Null when {@code b}'s entries cover {@code e}; otherwise which ports are not covered. */
    private static String uncoveredPorts(NetworkPolicy.AllowEntry e, List<NetworkPolicy.AllowEntry> b) {
        List<NetworkPolicy.AllowEntry> covering = b.stream().filter(x -> targetCovers(x, e)).toList();
        if (e.ports().isEmpty()) {
            // Every port: only an entry allowing every port covers it.
            return covering.stream().anyMatch(x -> x.ports().isEmpty()) ? null : "(every port)";
        }
        List<Integer> missing = e.ports().stream().filter(p -> covering.stream().noneMatch(x -> x.allowsPort(p))).toList();
        return missing.isEmpty() ? null : "ports " + missing;
    }

    private static boolean targetCovers(NetworkPolicy.AllowEntry outer, NetworkPolicy.AllowEntry inner) {
        if (inner.domain() != null) {
            return outer.domain() != null && Domains.covers(outer.domain(), inner.domain());
        }
        // A domain entry never covers a CIDR: names resolve to whatever their owner says.
        Cidr o = outer.cidr();
        Cidr i = inner.cidr();
        return o != null && o.network().length == i.network().length && o.prefix() <= i.prefix() && o.contains(i.network());
    }

    private static void packages(PackagesPolicy.Python a, PackagesPolicy.Python b, List<String> out) {
        for (String p : a.preinstalled()) {
            if (!b.preinstalled().contains(p)) {
                out.add("packages.python.preinstalled: " + p);
            }
        }
        if (!a.allowInstall()) {
            return;
        }
        if (!b.allowInstall()) {
            out.add("packages.python.allow_install: true");
            return;
        }
        if (!Objects.equals(a.indexUrl(), b.indexUrl())) {
            out.add("packages.python.index_url: " + a.indexUrl() + " (the other is " + b.indexUrl() + ")");
        }
        if (b.approvedPackages().isEmpty()) {
            return; // b installs anything
        }
        if (a.approvedPackages().isEmpty()) {
            out.add("packages.python.approved_packages: any package (the other lists " + b.approvedPackages() + ")");
            return;
        }
        for (String p : a.approvedPackages()) {
            if (!b.approvedPackages().contains(p)) {
                out.add("packages.python.approved_packages: " + p);
            }
        }
    }

    private static void filesystem(FilesystemPolicy a, FilesystemPolicy b, List<String> out) {
        if (!a.workspaceDir().equals(b.workspaceDir())) {
            out.add("filesystem.workspace_dir: " + a.workspaceDir() + " (the other is " + b.workspaceDir() + ")");
        }
        if (a.writable() && !b.writable()) {
            out.add("filesystem.writable: true");
        }
        if (a.persistAcrossCalls() && !b.persistAcrossCalls()) {
            out.add("filesystem.persist_across_calls: true");
        }
        limit("filesystem.max_size_mb", a.maxSizeMb(), b.maxSizeMb(), out);
    }

    private static void subprocess(SubprocessPolicy a, SubprocessPolicy b, List<String> out) {
        List<String> ac = startable(a);
        if (ac.isEmpty()) {
            return;
        }
        List<String> bc = startable(b);
        for (String c : ac) {
            if (!bc.contains(c)) {
                out.add("subprocess.allowed_commands: " + c);
            }
        }
        limit("subprocess.max_runtime_seconds", a.maxRuntimeSeconds(), b.maxRuntimeSeconds(), out);
    }

    /** The commands that can start under {@code s}. */
    static List<String> startable(SubprocessPolicy s) {
        return s.allow() ? s.allowedCommands().stream().filter(c -> !s.blockedCommands().contains(c)).toList() : List.of();
    }

    private static void resources(ResourcesPolicy a, ResourcesPolicy b, List<String> out) {
        limit("resources.max_memory_mb", a.maxMemoryMb(), b.maxMemoryMb(), out);
        limit("resources.max_cpu_seconds", a.maxCpuSeconds(), b.maxCpuSeconds(), out);
        limit("resources.max_output_size_mb", a.maxOutputSizeMb(), b.maxOutputSizeMb(), out);
        limit("resources.max_processes", a.maxProcesses(), b.maxProcesses(), out);
        limit("resources.max_wall_seconds", a.maxWallSeconds(), b.maxWallSeconds(), out);
    }

    private static void limit(String path, long a, long b, List<String> out) {
        if (a > b) {
            out.add(path + ": " + a + " (the other is " + b + ")");
        }
    }
}
