package dev.cordon.nativetier;

import dev.cordon.decision.ExecDecisions;
import dev.cordon.policy.Policy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Pure mappings from the policy to a sandbox's environment, limits and {@link SandboxSpec}.
 * No I/O: host facts come in as arguments, so the golden tests pin the whole chain.
 */
final class Specs {

    static final String TRUSTED_PATH = String.join(":", ExecDecisions.TRUSTED_PATH);
    /** Open files per process: Python's and numpy's needs with room, far below the host's. */
    static final long OPEN_FILES = 1024;
    /** Guest environment variables passed on: names only of this shape, at most this many. */
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final int MAX_GUEST_ENV = 128;
    private static final int MAX_ENV_VALUE = 32 * 1024;
    /**
     * Variables that change how the loader, libc or a shell behave before the program's own code
     * runs (preload a workspace library, redirect locale/iconv modules, run a file at shell start):
     * never passed from guest code, so an allowed command stays that command.
     */
    private static final Set<String> DENIED_ENV = Set.of("GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES",
            "RES_OPTIONS", "LOCALDOMAIN", "GLIBC_TUNABLES", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4",
            "IFS", "PROMPT_COMMAND", "CDPATH", "TZDIR");
    private static final List<String> DENIED_PREFIXES = List.of("LD_", "DYLD_", "MALLOC_", "BASH_FUNC_");
    private static final List<String> PROXY_VARS = List.of("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
            "http_proxy", "https_proxy", "all_proxy", "no_proxy", "FTP_PROXY", "ftp_proxy");

    private Specs() { }

    /**
     * The whole environment inside a sandbox: a fixed minimal set, the proxy settings when egress
     * goes through the bridge on {@code proxyPort} (0: no egress), then the guest's own variables
     * except those in {@link #DENIED_ENV}/{@link #DENIED_PREFIXES} and except the fixed keys.
     */
    static SortedMap<String, String> environment(Policy p, Map<String, String> guestEnv, int proxyPort) {
        SortedMap<String, String> fixed = new TreeMap<>();
        String ws = p.filesystem().workspaceDir();
        fixed.put("PATH", TRUSTED_PATH);
        fixed.put("HOME", ws);
        fixed.put("TMPDIR", "/tmp");
        fixed.put("LANG", "C.UTF-8");
        fixed.put("USER", "sandbox");
        fixed.put("LOGNAME", "sandbox");
        fixed.put("PYTHONDONTWRITEBYTECODE", "1");
        // Headless plotting, with matplotlib's cache in /tmp rather than in the workspace.
        fixed.put("MPLBACKEND", "Agg");
        fixed.put("MPLCONFIGDIR", "/tmp/matplotlib");
        // One BLAS thread: every thread reserves address space, and RLIMIT_AS counts reservations
        // (measured: pandas + matplotlib fit in 200 MiB with one thread, need >256 MiB with two).
        fixed.put("OPENBLAS_NUM_THREADS", "1");
        fixed.put("OMP_NUM_THREADS", "1");
        fixed.put("MKL_NUM_THREADS", "1");
        if (proxyPort > 0) {
            String http = "http://127.0.0.1:" + proxyPort;
            for (String k : new String[] {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
                fixed.put(k, http);
            }
            fixed.put("ALL_PROXY", "socks5h://127.0.0.1:" + proxyPort);
            fixed.put("all_proxy", "socks5h://127.0.0.1:" + proxyPort);
            fixed.put("NO_PROXY", "localhost,127.0.0.1,::1");
            fixed.put("no_proxy", "localhost,127.0.0.1,::1");
        }
        SortedMap<String, String> env = new TreeMap<>();
        if (guestEnv != null) {
            int n = 0;
            for (Map.Entry<String, String> e : new TreeMap<>(guestEnv).entrySet()) {
                String k = e.getKey();
                String v = e.getValue();
                if (n >= MAX_GUEST_ENV || k == null || v == null || !ENV_NAME.matcher(k).matches()
                        || v.length() > MAX_ENV_VALUE || v.indexOf('\0') >= 0 || fixed.containsKey(k)
                        || PROXY_VARS.contains(k) || DENIED_ENV.contains(k)
                        || DENIED_PREFIXES.stream().anyMatch(k::startsWith)) {
                    continue;
                }
                env.put(k, v);
                n++;
            }
        }
        env.putAll(fixed);
        return env;
    }

    /**
     * rlimits of a sandbox. {@code worker}: the persistent Python worker, whose CPU is bounded per
     * call by the host (RLIMIT_CPU counts a process's whole life).
     */
    static LaunchArgs.Limits limits(Policy p, boolean worker) {
        var r = p.resources();
        long as = r.maxMemoryMb() * 1024L * 1024L;
        long cpu = worker ? -1 : Math.max(1, r.maxCpuSeconds());
        long fsize = p.filesystem().maxSizeBytes();
        return new LaunchArgs.Limits(as, cpu, fsize, nproc(p), OPEN_FILES);
    }

    /**
     * Tasks one process may bring along: the kernel's pids cgroup and RLIMIT_NPROC count threads as
     * well as processes, and thread pools (concurrent.futures: min(32, cpus + 4)) must work.
     */
    static final long TASKS_PER_PROCESS = 32;

    /**
     * Tasks allowed in one sandbox's pids cgroup: bwrap's outer process and its pid-1 reaper, then
     * {@link #TASKS_PER_PROCESS} for each of {@code max_processes} processes (plus the worker).
     * Enough for threads, small enough that a fork bomb stops at a few hundred tasks. The exact
     * count of concurrent children is kept by the session ({@link NativeProcessHandler}).
     */
    static long maxPids(Policy p, boolean worker) {
        long m = Math.max(1, p.resources().maxProcesses());
        return 2 + TASKS_PER_PROCESS * (m + (worker ? 1 : 0));
    }

    /**
     * RLIMIT_NPROC of the session uid. The kernel counts it per uid on the host, across all the
     * session's sandboxes (up to max_processes one-shot sandboxes and one worker), so it is the
     * session-wide backstop when no pids cgroup is available.
     */
    static long nproc(Policy p) {
        long m = Math.max(1, p.resources().maxProcesses());
        return m * maxPids(p, false) + maxPids(p, true);
    }
}
