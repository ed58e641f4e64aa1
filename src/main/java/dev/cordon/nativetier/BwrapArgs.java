package dev.cordon.nativetier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The bubblewrap arguments for one sandbox: a pure function of a {@link SandboxSpec}, checked
 * against golden files ({@code native-fallback/golden/bwrap-*.argv}).
 *
 * <p>What the sandbox is (DESIGN.md section 4, measured with bubblewrap 0.8.0):
 * <ul>
 *   <li>new user, pid, network, ipc, uts and (where possible) cgroup namespaces: the only network
 *       interface is loopback; pid 1 is bwrap's reaper; nothing outside is visible or signalable;</li>
 *   <li>{@code --new-session} (no TIOCSTI into the caller's terminal), {@code --die-with-parent}
 *       (the whole pid namespace dies with the JVM), {@code --cap-drop ALL}, and
 *       {@code --disable-userns} with {@code --assert-userns-disabled} (no nested user namespace to
 *       regain capabilities in);</li>
 *   <li>filesystem: a fresh tmpfs root with {@code /usr} read-only, the merged-/usr symlinks, a
 *       handful of read-only {@code /etc} files, {@code /proc}, a minimal {@code /dev}, a size-bounded
 *       {@code /tmp} and {@code /dev/shm}, the workspace at {@code workspace_dir} (read-only when
 *       {@code writable: false}), and Cordon's helper and socket dirs (read-only) under
 *       {@code /run/cordon}; {@code /dev} and the root are remounted read-only last, so the only
 *       writable places are the workspace (bounded) and the two size-limited tmpfs;</li>
 *   <li>{@code --clearenv} then the spec's fixed environment; the seccomp program from an fd.</li>
 * </ul>
 */
final class BwrapArgs {

    /**
     * Size of the sandbox's /dev/shm (POSIX semaphores and shared memory: multiprocessing needs
     * it). bwrap's own /dev is an unbounded tmpfs, so it is remounted read-only and /dev/shm gets
     * this bounded tmpfs instead; its pages count against the sandbox's memory cgroup.
     */
    static final long SHM_BYTES = 16L * 1024 * 1024;

    private BwrapArgs() { }

    /** The arguments after the bwrap executable, ending with {@code --} and the command. */
    static List<String> build(SandboxSpec s) {
        List<String> a = new ArrayList<>(96);
        a.add("--unshare-user");
        a.add("--unshare-pid");
        a.add("--unshare-net");
        a.add("--unshare-ipc");
        a.add("--unshare-uts");
        a.add("--unshare-cgroup-try");
        a.add("--hostname");
        a.add("cordon");
        a.add("--die-with-parent");
        a.add("--new-session");
        a.add("--cap-drop");
        a.add("ALL");
        a.add("--disable-userns");
        a.add("--assert-userns-disabled");

        add(a, "--ro-bind", "/usr", "/usr");
        for (Map.Entry<String, String> e : s.rootLinks().entrySet()) {
            add(a, "--symlink", e.getValue(), e.getKey());
        }
        for (String d : s.rootDirs()) {
            add(a, "--ro-bind", d, d);
        }
        for (String f : s.etcFiles()) {
            add(a, "--ro-bind", f, f);
        }
        for (Map.Entry<String, String> e : s.etcOverrides().entrySet()) {
            add(a, "--ro-bind", e.getValue(), e.getKey());
        }
        add(a, "--proc", "/proc");
        add(a, "--dev", "/dev");
        add(a, "--size", Long.toString(SHM_BYTES));
        add(a, "--perms", "1777");
        add(a, "--tmpfs", "/dev/shm");
        add(a, "--size", Long.toString(s.tmpBytes()));
        add(a, "--perms", "1777");
        add(a, "--tmpfs", "/tmp");

        add(a, s.writable() ? "--bind" : "--ro-bind", s.hostWorkspace(), s.workspaceDir());
        for (Map.Entry<String, String> e : s.readOnlyInWorkspace().entrySet()) {
            add(a, "--ro-bind", e.getKey(), e.getValue());
        }
        if (s.libDir() != null) {
            add(a, "--ro-bind", s.libDir(), SandboxSpec.LIB_IN_SANDBOX);
        }
        if (s.ioDir() != null) {
            // Read-only: connecting to a unix socket needs no write access to its mount, and a
            // writable host directory here would be disk space outside the workspace bound.
            add(a, "--ro-bind", s.ioDir(), SandboxSpec.IO_IN_SANDBOX);
        }
        for (String m : s.masked()) {
            // A character device cannot be executed (EACCES), whatever starts it: the gate, a shell,
            // env, xargs or find -exec.
            add(a, "--ro-bind", "/dev/null", m);
        }
        add(a, "--chdir", s.cwd());
        a.add("--clearenv");
        for (Map.Entry<String, String> e : s.env().entrySet()) {
            add(a, "--setenv", e.getKey(), e.getValue());
        }
        add(a, "--seccomp", Integer.toString(s.seccompFd()));
        add(a, "--remount-ro", "/dev");
        add(a, "--remount-ro", "/");
        a.add("--");
        a.addAll(s.argv());
        return a;
    }

    private static void add(List<String> a, String... xs) {
        a.addAll(List.of(xs));
    }
}
