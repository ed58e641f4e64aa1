package dev.cordon.nativetier;

import java.util.List;

/**
 * What the native tier found on this host: the report behind {@code cordon policy check} and the
 * refusal messages.
 *
 * @param available       whether sandboxes can start (every isolation layer works)
 * @param missing         what is missing, each with how to install or enable it; empty when available
 * @param bwrapVersion    e.g. {@code bubblewrap 0.8.0}, or null
 * @param libseccomp      libseccomp version, or null
 * @param userNamespaces  whether a full probe sandbox started (user namespaces usable)
 * @param landlockAbi     Landlock ABI version, 0 when unavailable (the worker's exec allowlist needs 1+)
 * @param sandboxUser     who sandboxed code runs as on the host
 * @param cgroups         which cgroup features are used, e.g. {@code memory=v1 pids=v1 cpu-accounting=v1 tree-kill=v2 cgroup.kill}
 * @param workspaceQuota  how {@code max_size_mb} is enforced
 * @param limitsInForce   each limit and the mechanism that enforces it here
 * @param notes           anything degraded, with the reason
 */
public record Availability(boolean available, List<String> missing, String bwrapVersion, String libseccomp,
                           boolean userNamespaces, int landlockAbi, String sandboxUser, String cgroups,
                           String workspaceQuota, List<String> limitsInForce, List<String> notes) {

    public Availability {
        missing = List.copyOf(missing);
        limitsInForce = List.copyOf(limitsInForce);
        notes = List.copyOf(notes);
    }

    /** A multi-line report for {@code cordon policy check}. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append("native tier: ").append(available ? "available" : "UNAVAILABLE").append('\n');
        for (String m : missing) {
            b.append("  missing: ").append(m).append('\n');
        }
        b.append("  bubblewrap: ").append(bwrapVersion == null ? "not found" : bwrapVersion).append('\n');
        b.append("  libseccomp: ").append(libseccomp == null ? "not loadable" : libseccomp).append('\n');
        b.append("  user namespaces: ").append(userNamespaces ? "usable" : "not usable").append('\n');
        b.append("  landlock: ").append(landlockAbi > 0 ? "ABI " + landlockAbi : "unavailable").append('\n');
        b.append("  sandbox user: ").append(sandboxUser).append('\n');
        b.append("  cgroups: ").append(cgroups).append('\n');
        b.append("  workspace size bound: ").append(workspaceQuota).append('\n');
        for (String l : limitsInForce) {
            b.append("  limit: ").append(l).append('\n');
        }
        for (String n : notes) {
            b.append("  note: ").append(n).append('\n');
        }
        return b.toString();
    }
}
