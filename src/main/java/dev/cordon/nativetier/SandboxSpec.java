package dev.cordon.nativetier;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Everything that shapes one sandbox, as plain values: the input of the pure argv builders
 * ({@link BwrapArgs}, {@link LaunchArgs}). Host paths here are already prepared (mounted, created);
 * building the argv touches nothing.
 *
 * @param rootLinks     top-level host entries that are symlinks into /usr (merged /usr): name -> target
 * @param rootDirs      top-level host directories outside /usr that hold binaries or libraries
 *                      (non-merged systems: /bin, /lib, ...), bound read-only
 * @param etcFiles      host paths under /etc bound read-only at the same place (only those that exist)
 * @param etcOverrides  sandbox path -> host file bound read-only over it (stub passwd, group, hosts)
 * @param hostWorkspace the host directory bound at {@code workspaceDir}
 * @param workspaceDir  the guest path of the workspace (the policy's {@code workspace_dir})
 * @param writable      whether the workspace is bound read-write
 * @param readOnlyInWorkspace host file -> guest path bound read-only over a workspace file (the
 *                      audit log: guest code must not forge or erase it)
 * @param libDir        host directory of Cordon's in-sandbox helpers, bound read-only at /run/cordon/lib, or null
 * @param ioDir         host directory of the session's sockets, bound read-only at /run/cordon/io, or null
 * @param masked        sandbox paths (blocked commands) covered with /dev/null so nothing can exec them
 * @param tmpBytes      size of the sandbox's /tmp tmpfs
 * @param cwd           working directory inside the sandbox
 * @param env           the whole environment inside the sandbox
 * @param seccompFd     the fd number bwrap reads the BPF program from
 * @param argv          the command, argv[0] an absolute sandbox path
 */
record SandboxSpec(
        SortedMap<String, String> rootLinks,
        List<String> rootDirs,
        List<String> etcFiles,
        SortedMap<String, String> etcOverrides,
        String hostWorkspace,
        String workspaceDir,
        boolean writable,
        SortedMap<String, String> readOnlyInWorkspace,
        String libDir,
        String ioDir,
        List<String> masked,
        long tmpBytes,
        String cwd,
        SortedMap<String, String> env,
        int seccompFd,
        List<String> argv) {

    /** Where the helpers and the sockets appear inside the sandbox. */
    static final String LIB_IN_SANDBOX = "/run/cordon/lib";
    static final String IO_IN_SANDBOX = "/run/cordon/io";

    SandboxSpec {
        rootLinks = new TreeMap<>(rootLinks);
        rootDirs = List.copyOf(rootDirs);
        etcFiles = List.copyOf(etcFiles);
        etcOverrides = new TreeMap<>(etcOverrides);
        Objects.requireNonNull(hostWorkspace, "hostWorkspace");
        Objects.requireNonNull(workspaceDir, "workspaceDir");
        readOnlyInWorkspace = new TreeMap<>(readOnlyInWorkspace);
        masked = List.copyOf(masked);
        Objects.requireNonNull(cwd, "cwd");
        env = new TreeMap<>(env);
        argv = List.copyOf(argv);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
    }

    static SortedMap<String, String> sorted(Map<String, String> m) {
        return new TreeMap<>(m);
    }
}
