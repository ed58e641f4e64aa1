package dev.cordon.nativetier;

import java.util.ArrayList;
import java.util.List;

/**
 * The full command line that starts one sandbox, outermost first: a pure function, checked against
 * a golden file. The chain, each step exec'ing the next (no extra process):
 * <ol>
 *   <li>{@code /bin/sh -c TRAMPOLINE}: joins the sandbox's cgroups (writes its own pid, so every
 *       later process is counted from the start) and opens the seccomp program as fd 3.
 *       {@link ProcessBuilder} cannot hand a child any fd above 2 (DESIGN.md section 4); the shell
 *       can;</li>
 *   <li>{@code prlimit}: hard and soft rlimits (address space, CPU, file size, processes, open
 *       files, no core dumps), set while still privileged so they cannot be raised again;</li>
 *   <li>{@code setpriv}: when the JVM runs as root, drop to the session's dedicated unprivileged
 *       uid/gid with no supplementary groups and no inheritable capabilities. As root the sandbox
 *       uid would map to host root and {@code RLIMIT_NPROC} would be ignored;</li>
 *   <li>{@code bwrap} with {@link BwrapArgs}.</li>
 * </ol>
 */
final class LaunchArgs {

    /** Exit status of the trampoline when it cannot set the sandbox up (nothing of the command ran). */
    static final int SETUP_FAILED = 125;

    static final String TRAMPOLINE = "b=$1; n=$2; shift 2; "
            + "while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit " + SETUP_FAILED + "; shift; n=$((n-1)); done; "
            + "exec 3<\"$b\" || exit " + SETUP_FAILED + "; "
            + "exec \"$@\"";

    /**
     * @param sh          the shell for the trampoline
     * @param prlimit     util-linux prlimit
     * @param setpriv     util-linux setpriv, or null when the JVM is not root (nothing to drop)
     * @param bwrap       bubblewrap
     * @param bpfFile     the compiled seccomp program, opened as fd 3
     * @param cgroupProcs {@code cgroup.procs} files to join, in order (may be empty)
     * @param limits      the rlimits
     * @param uid         uid to drop to (with setpriv)
     * @param gid         gid to drop to (with setpriv)
     * @param bwrapArgs   the bwrap arguments
     */
    record Spec(String sh, String prlimit, String setpriv, String bwrap, String bpfFile, List<String> cgroupProcs,
                Limits limits, long uid, long gid, List<String> bwrapArgs) {
        Spec {
            cgroupProcs = List.copyOf(cgroupProcs);
            bwrapArgs = List.copyOf(bwrapArgs);
        }
    }

    /**
     * rlimits of every process in one sandbox; -1 means unlimited.
     *
     * @param addressSpaceBytes RLIMIT_AS, from {@code max_memory_mb}: allocation fails with MemoryError
     * @param cpuSeconds        RLIMIT_CPU per process (SIGKILL at the hard limit)
     * @param fileSizeBytes     RLIMIT_FSIZE: no single file larger than the workspace bound (EFBIG)
     * @param processes         RLIMIT_NPROC of the sandbox uid (EAGAIN)
     * @param openFiles         RLIMIT_NOFILE
     */
    record Limits(long addressSpaceBytes, long cpuSeconds, long fileSizeBytes, long processes, long openFiles) { }

    private LaunchArgs() { }

    static List<String> build(Spec s) {
        List<String> a = new ArrayList<>(s.bwrapArgs().size() + 24);
        a.add(s.sh());
        a.add("-c");
        a.add(TRAMPOLINE);
        a.add("cordon-launch");
        a.add(s.bpfFile());
        a.add(Integer.toString(s.cgroupProcs().size()));
        a.addAll(s.cgroupProcs());
        a.add(s.prlimit());
        Limits l = s.limits();
        a.add("--as=" + value(l.addressSpaceBytes()));
        a.add("--cpu=" + value(l.cpuSeconds()));
        a.add("--fsize=" + value(l.fileSizeBytes()));
        a.add("--nproc=" + value(l.processes()));
        a.add("--nofile=" + value(l.openFiles()));
        a.add("--core=0");
        a.add("--");
        if (s.setpriv() != null) {
            a.add(s.setpriv());
            a.add("--reuid=" + s.uid());
            a.add("--regid=" + s.gid());
            a.add("--clear-groups");
            a.add("--inh-caps=-all");
            a.add("--");
        }
        a.add(s.bwrap());
        a.addAll(s.bwrapArgs());
        return a;
    }

    private static String value(long v) {
        return v < 0 ? "unlimited" : Long.toString(v);
    }
}
