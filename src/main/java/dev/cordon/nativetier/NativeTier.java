package dev.cordon.nativetier;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The native tier of one host configuration: probes the host once (bubblewrap, user namespaces,
 * libseccomp, Landlock, cgroups, mounting), prepares what every sandbox shares (the compiled
 * seccomp programs, the helper files), and refuses with an actionable message when an isolation
 * layer is missing. Nothing ever runs unsandboxed: {@link #requireAvailable()} guards every start.
 *
 * <pre>{@code
 * Availability a = NativeTier.get().check();   // for `cordon policy check`
 * System.out.print(a.describe());
 * }</pre>
 */
public final class NativeTier {

    /** Helper files shipped in {@code native-fallback/python/}, copied into the state dir. */
    static final List<String> LIB_FILES = List.of("cordon_worker.py", "cordon_bridge.py");

    private static final Map<NativeConfig, NativeTier> TIERS = new ConcurrentHashMap<>();

    private final NativeConfig config;
    private final boolean root;
    private volatile Availability availability;
    private HostLayout layout;
    private Cgroups cgroups;
    private SandboxUids uids;
    private Path libDir;
    private Path seccompEgress;
    private Path seccompNoEgress;
    private byte[] noexec;
    private boolean imageQuota;
    private int landlockAbi;
    private final Launcher launcher = new Launcher(this);

    private NativeTier(NativeConfig config) {
        this.config = config;
        this.root = currentUid() == 0;
    }

    /** The tier for {@link NativeConfig#fromSystemProperties()}. */
    public static NativeTier get() {
        return get(NativeConfig.fromSystemProperties());
    }

    /** The tier for {@code config}: one per distinct configuration per JVM. */
    public static NativeTier get(NativeConfig config) {
        return TIERS.computeIfAbsent(config, NativeTier::new);
    }

    public NativeConfig config() {
        return config;
    }

    /** The availability report; the host is probed on the first call (~50 ms), then cached. */
    public Availability check() {
        Availability a = availability;
        if (a == null) {
            synchronized (this) {
                if (availability == null) {
                    availability = probe();
                }
                a = availability;
            }
        }
        return a;
    }

    /** Throws {@link NativeTierUnavailableException} naming what is missing, unless sandboxes can start. */
    public void requireAvailable() {
        Availability a = check();
        if (!a.available()) {
            throw new NativeTierUnavailableException("Cordon's native tier cannot run on this host, so nothing was"
                    + " started (it never runs code unsandboxed): " + String.join("; ", a.missing()));
        }
    }

    // Package accessors read what check() prepared; public entry points call requireAvailable() first.

    boolean root() {
        return root;
    }

    HostLayout layout() {
        return layout;
    }

    Cgroups cgroups() {
        return cgroups;
    }

    SandboxUids uids() {
        return uids;
    }

    Path libDir() {
        return libDir;
    }

    Path seccompFile(boolean egress) {
        return egress ? seccompEgress : seccompNoEgress;
    }

    /** The BPF program the Python worker stacks when it may start no program. */
    byte[] noexecProgram() {
        return noexec.clone();
    }

    boolean imageQuota() {
        return imageQuota;
    }

    int landlockAbi() {
        return landlockAbi;
    }

    Launcher launcher() {
        return launcher;
    }

    // ---- probing -------------------------------------------------------------------------------

    private Availability probe() {
        List<String> missing = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        String bwrapVersion = null;
        String seccompVersion = null;
        boolean userns = false;

        if (!Files.isExecutable(config.bwrap())) {
            missing.add("bubblewrap is not installed at " + config.bwrap() + " (install it: apt-get install -y bubblewrap)");
        } else {
            try {
                bwrapVersion = HostCommands.run(List.of(config.bwrap().toString(), "--version"));
            } catch (IOException e) {
                missing.add("bubblewrap at " + config.bwrap() + " does not run: " + e.getMessage()
                        + " (reinstall it: apt-get install -y --reinstall bubblewrap)");
            }
        }
        if (!Files.isExecutable(config.prlimit())) {
            missing.add("prlimit is not installed at " + config.prlimit() + " (install it: apt-get install -y util-linux)");
        }
        if (root && !Files.isExecutable(config.setpriv())) {
            missing.add("setpriv is not installed at " + config.setpriv()
                    + " (needed to drop root to a sandbox uid; install it: apt-get install -y util-linux)");
        }
        if (!Files.isExecutable(config.shell())) {
            missing.add("no POSIX shell at " + config.shell() + " (install it: apt-get install -y dash)");
        }
        try {
            prepareStateDir();
            for (Path a = config.stateDir().toAbsolutePath(); root && a != null; a = a.getParent()) {
                if (!Files.getPosixFilePermissions(a).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    missing.add("the state directory " + config.stateDir() + " is not reachable by the sandbox uids: "
                            + a + " lacks o+x (chmod o+x " + a + ", or set -Dcordon.native.stateDir elsewhere)");
                    break;
                }
            }
        } catch (IOException e) {
            missing.add("cannot prepare the state directory " + config.stateDir() + ": " + e.getMessage()
                    + " (set -Dcordon.native.stateDir to a writable directory)");
        }
        try {
            seccompVersion = Seccomp.version();
            seccompNoEgress = storeSeccomp(false);
            seccompEgress = storeSeccomp(true);
            noexec = Seccomp.compile(SeccompProfile.load(SeccompProfile.NOEXEC, false));
        } catch (UnsatisfiedLinkError | RuntimeException | IOException e) {
            missing.add("libseccomp cannot be loaded or used (" + e.getMessage()
                    + "); install it: apt-get install -y libseccomp2");
        }
        layout = HostLayout.probe();
        cgroups = root ? Cgroups.detect() : Cgroups.none("not root: cgroups are not managed (limits are rlimits only)");
        notes.addAll(cgroups.notes());
        uids = new SandboxUids(config.uidBase(), config.uidCount());
        landlockAbi = Landlock.abi();
        if (!Files.isExecutable(config.python())) {
            notes.add("no CPython at " + config.python() + ": the native Python engine is unavailable"
                    + " (install it: apt-get install -y python3)");
        }
        if (missing.isEmpty()) {
            imageQuota = root && config.workspaceImages() && Files.isExecutable(config.mkfs()) && probeImageMount(notes);
            String failure = probeSandbox();
            if (failure == null) {
                userns = true;
            } else {
                missing.add(failure + usernsHint());
            }
        }
        String user = root ? "dedicated uid per session from " + config.uidBase() + " (+" + config.uidCount()
                + "), dropped from root with setpriv" : "the JVM's own uid " + currentUid() + " (not root)";
        String quota = imageQuota ? "ext4 image per session, loop-mounted: writes fail with ENOSPC at max_size_mb"
                : "scan every 200 ms while sandboxed code runs, kill on excess (soft: "
                + (!config.workspaceImages() ? "images turned off" : root ? "mounting failed here"
                : "needs root to mount an image") + ")";
        List<String> limits = new ArrayList<>();
        limits.add("memory: RLIMIT_AS = max_memory_mb per process (MemoryError)"
                + (cgroups.memory() ? "; cgroup memory = max_memory_mb per sandbox (OOM kill)" : ""));
        limits.add("cpu: RLIMIT_CPU = max_cpu_seconds per one-shot process; the worker's calls by a host watchdog on "
                + (cgroups.cpuAccounting() ? "cgroup CPU accounting" : "/proc CPU times"));
        limits.add("processes: concurrent children of a session counted by the host (max_processes)"
                + (cgroups.pids() ? "; pids cgroup per sandbox = 2 + 32 x (max_processes + 1) tasks" : "")
                + "; RLIMIT_NPROC on the sandbox uid" + (root ? "" : " (shared with the JVM's uid: weak)"));
        limits.add("file size: RLIMIT_FSIZE = max_size_mb");
        limits.add("open files: RLIMIT_NOFILE = " + Specs.OPEN_FILES);
        limits.add("wall clock: max_runtime_seconds per command, max_wall_seconds per worker call (host timer, kills the tree)");
        limits.add("output: max_output_size_mb per call, captured host-side");
        limits.add("workspace size: " + (imageQuota ? "hard (ext4 image)" : "soft (scan)"));
        if (landlockAbi > 0) {
            limits.add("worker exec allowlist: Landlock ABI " + landlockAbi + " (only allowed commands can be executed)");
        } else {
            notes.add("Landlock is unavailable: the Python worker refuses every subprocess (it cannot restrict"
                    + " which programs run)");
        }
        return new Availability(missing.isEmpty(), missing, bwrapVersion, seccompVersion, userns, landlockAbi, user,
                cgroups.describe(), quota, limits, notes);
    }

    /**
     * Cleans up after JVMs that died with sessions open: their workspace images are still mounted
     * (over the users' directories too). Each is copied back into its host directory, then
     * unmounted and deleted, as {@link NativeWorkspace#close()} would have done.
     */
    private void sweepStale() {
        Path wsDir = config.stateDir().resolve("ws").toAbsolutePath();
        List<String[]> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] halves = line.split(" - ", 2);
                String[] pre = halves[0].split(" ");
                String[] post = halves.length > 1 ? halves[1].split(" ") : new String[] {"", ""};
                // device, mount point, fstype, source
                mounts.add(new String[] {pre[2], pre[4].replace("\\040", " "), post[0], post.length > 1 ? post[1] : ""});
            }
        } catch (IOException e) {
            return;
        }
        java.util.Set<String> stalePids = new java.util.HashSet<>();
        for (String[] m : mounts) {
            Path mp = Path.of(m[1]);
            if (!mp.startsWith(wsDir) || mp.equals(wsDir)) {
                continue;
            }
            String id = mp.getFileName().toString();
            java.util.regex.Matcher pm = java.util.regex.Pattern.compile("w([0-9]+)-[0-9]+").matcher(id);
            if (!pm.matches() || ProcessHandle.of(Long.parseLong(pm.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
                continue;
            }
            stalePids.add(pm.group(1));
            try {
                if (m[2].equals("ext4") && m[3].startsWith("/dev/loop")) {
                    for (String[] other : mounts) {
                        if (other[0].equals(m[0]) && !Path.of(other[1]).startsWith(config.stateDir().toAbsolutePath())) {
                            HostCommands.run(List.of("umount", other[1]));
                            NativeWorkspace.mirror(mp, Path.of(other[1]));
                        }
                    }
                }
                HostCommands.run(List.of("umount", mp.toString()));
                Files.deleteIfExists(mp);
                Files.deleteIfExists(config.stateDir().resolve("images").resolve(id + ".img"));
            } catch (IOException | RuntimeException e) {
                // leave it for an operator: the image file still holds the data
            }
        }
        for (String pid : stalePids) {
            for (String d : new String[] {"io", "etc"}) {
                try (var ds = Files.newDirectoryStream(config.stateDir().resolve(d), "w" + pid + "-*")) {
                    ds.forEach(NativeWorkspace::deleteTree);
                } catch (IOException e) {
                    // nothing to sweep
                }
            }
        }
    }

    private void prepareStateDir() throws IOException {
        Path s = config.stateDir();
        Files.createDirectories(s);
        Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rwx--x--x"));
        for (String d : new String[] {"ws", "io", "etc"}) {
            Files.createDirectories(s.resolve(d));
            Files.setPosixFilePermissions(s.resolve(d), PosixFilePermissions.fromString("rwx--x--x"));
        }
        for (String d : new String[] {"images", "seccomp"}) {
            Files.createDirectories(s.resolve(d));
            Files.setPosixFilePermissions(s.resolve(d), PosixFilePermissions.fromString("rwx------"));
        }
        if (root) {
            sweepStale();
        }
        // Helper files, content-addressed so JVMs of different versions never overwrite each other's.
        List<byte[]> contents = new ArrayList<>();
        MessageDigest md = sha256();
        for (String f : LIB_FILES) {
            try (InputStream in = NativeTier.class.getResourceAsStream("/native-fallback/python/" + f)) {
                if (in == null) {
                    throw new IOException("helper native-fallback/python/" + f + " is not on the class path");
                }
                byte[] b = in.readAllBytes();
                contents.add(b);
                md.update(f.getBytes(StandardCharsets.UTF_8));
                md.update(b);
            }
        }
        Path lib = s.resolve("lib-" + HexFormat.of().formatHex(md.digest()).substring(0, 16));
        if (!Files.isDirectory(lib)) {
            Path tmp = Files.createTempDirectory(s, "lib-tmp");
            for (int i = 0; i < LIB_FILES.size(); i++) {
                Path f = tmp.resolve(LIB_FILES.get(i));
                Files.write(f, contents.get(i));
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            try {
                Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                NativeWorkspace.deleteTree(tmp); // another JVM won the race: same content
            }
        }
        libDir = lib;
    }

    private Path storeSeccomp(boolean egress) throws IOException {
        byte[] bpf = Seccomp.compile(SeccompProfile.load(SeccompProfile.SANDBOX, egress));
        String hash = HexFormat.of().formatHex(sha256().digest(bpf)).substring(0, 16);
        Path f = config.stateDir().resolve("seccomp").resolve((egress ? "egress-" : "no-egress-") + hash + ".bpf");
        if (!Files.exists(f)) {
            Path tmp = Files.createTempFile(f.getParent(), "bpf", ".tmp");
            Files.write(tmp, bpf);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        return f;
    }

    private boolean probeImageMount(List<String> notes) {
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            notes.add("no /dev/loop-control: the workspace size bound falls back to scanning");
            return false;
        }
        Path img = config.stateDir().resolve("images").resolve("probe-" + ProcessHandle.current().pid() + ".img");
        Path mnt = config.stateDir().resolve("images").resolve("probe-" + ProcessHandle.current().pid());
        try {
            Files.deleteIfExists(img);
            Files.createDirectories(mnt);
            try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.position(4L * 1024 * 1024 - 1);
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]));
            }
            HostCommands.run(List.of(config.mkfs().toString(), "-q", "-F", "-O", "^has_journal", img.toString()));
            HostCommands.run(List.of("mount", "-o", "loop,nosuid,nodev", img.toString(), mnt.toString()));
            HostCommands.run(List.of("umount", mnt.toString()));
            return true;
        } catch (IOException e) {
            notes.add("cannot loop-mount a workspace image (" + e.getMessage()
                    + "): the workspace size bound falls back to scanning");
            return false;
        } finally {
            try {
                Files.deleteIfExists(img);
                Files.deleteIfExists(mnt);
            } catch (IOException e) {
                // leftover probe files are harmless
            }
        }
    }

    /** Starts a complete sandbox running /bin/true; returns null on success or what went wrong. */
    private String probeSandbox() {
        Path scratch = config.stateDir().resolve("ws").resolve("probe-" + ProcessHandle.current().pid());
        NativeWorkspace ws = null;
        try {
            ws = NativeWorkspace.forProbe(this, scratch);
            var policy = dev.cordon.policy.Policy.DEFAULT;
            Sandboxed s = launcher.startUnchecked(new Launcher.Request(ws, policy, List.of("/usr/bin/true"),
                    policy.filesystem().workspaceDir(), Map.of(), 0, false, List.of(), ProcessBuilder.Redirect.PIPE,
                    ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, true));
            s.process.getOutputStream().close();
            byte[] out = s.process.getInputStream().readAllBytes();
            if (!s.process.waitFor(20, TimeUnit.SECONDS)) {
                s.kill();
                return "the probe sandbox did not finish in 20 s";
            }
            s.awaitGone(1000);
            if (s.process.exitValue() != 0) {
                return "a probe sandbox (bwrap with user, pid and network namespaces, seccomp, rlimits"
                        + (root ? ", uid drop" : "") + ") failed with exit " + s.process.exitValue() + ": "
                        + new String(out, StandardCharsets.UTF_8).strip();
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "a probe sandbox could not start: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while probing";
        } finally {
            if (ws != null) {
                ws.close();
            }
            NativeWorkspace.deleteTree(scratch);
        }
    }

    private static String usernsHint() {
        String clone = Cgroups.read(Path.of("/proc/sys/kernel/unprivileged_userns_clone"));
        String max = Cgroups.read(Path.of("/proc/sys/user/max_user_namespaces"));
        String apparmor = Cgroups.read(Path.of("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"));
        if (clone.equals("0")) {
            return " (unprivileged user namespaces are disabled: sysctl -w kernel.unprivileged_userns_clone=1)";
        }
        if (max.equals("0")) {
            return " (user namespaces are disabled: sysctl -w user.max_user_namespaces=15000)";
        }
        if (apparmor.equals("1")) {
            return " (AppArmor restricts unprivileged user namespaces: sysctl -w"
                    + " kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for bwrap)";
        }
        return "";
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static int currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException e) {
            return -1;
        }
    }

    /** Landlock's ABI version through the raw syscall; 0 when the kernel lacks it. */
    static final class Landlock {
        interface LibC extends Library {
            long syscall(long number, Object... args);
        }

        private Landlock() { }

        static int abi() {
            try {
                LibC c = Native.load("c", LibC.class);
                // landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION); 444 on x86_64 and aarch64.
                long v = c.syscall(444L, null, 0L, 1L);
                return v > 0 ? (int) v : 0;
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                return 0;
            }
        }
    }
}
