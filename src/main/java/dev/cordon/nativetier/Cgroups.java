package dev.cordon.nativetier;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The cgroups a sandbox joins, where the host lets us create them: memory and pids limits, CPU
 * accounting and whole-tree kill. cgroup v1, v2 and the v1/v2 hybrid of this machine kind are all
 * handled: each capability comes from whichever hierarchy offers it (DESIGN.md section 4).
 *
 * <p>Groups live under the JVM's own cgroup of each hierarchy, in {@code cordon-<jvm pid>/<leaf>},
 * so a container's or systemd unit's own limits still apply above them. On pure v2 the controllers
 * must be delegated to the JVM's cgroup (e.g. {@code systemd-run --scope -p Delegate=yes}); when
 * they are not, the limits are reported as not in force and rlimits remain.
 */
final class Cgroups {

    /** One hierarchy directory the sandbox joins, and what it gives. */
    record Hierarchy(String kind, Path parent) { }

    private final Path memoryParent;   // v1 memory or v2 with memory enabled
    private final boolean memoryV2;
    private final Path pidsParent;
    private final boolean pidsV2;
    private final Path cpuParent;      // v1 cpuacct or any v2 group (cpu.stat)
    private final boolean cpuV2;
    private final Path unifiedParent;  // v2 group for cgroup.kill, when creatable
    private final List<String> notes;
    private final AtomicLong ids = new AtomicLong();

    private Cgroups(Path memoryParent, boolean memoryV2, Path pidsParent, boolean pidsV2, Path cpuParent,
                    boolean cpuV2, Path unifiedParent, List<String> notes) {
        this.memoryParent = memoryParent;
        this.memoryV2 = memoryV2;
        this.pidsParent = pidsParent;
        this.pidsV2 = pidsV2;
        this.cpuParent = cpuParent;
        this.cpuV2 = cpuV2;
        this.unifiedParent = unifiedParent;
        this.notes = List.copyOf(notes);
    }

    static Cgroups none(String why) {
        return new Cgroups(null, false, null, false, null, false, null, List.of(why));
    }

    boolean memory() {
        return memoryParent != null;
    }

    boolean pids() {
        return pidsParent != null;
    }

    boolean cpuAccounting() {
        return cpuParent != null;
    }

    boolean treeKill() {
        return unifiedParent != null;
    }

    List<String> notes() {
        return notes;
    }

    /** e.g. {@code memory=v1 pids=v1 cpu=v2 kill=v2}. */
    String describe() {
        return "memory=" + (memoryParent == null ? "none" : memoryV2 ? "v2" : "v1")
                + " pids=" + (pidsParent == null ? "none" : pidsV2 ? "v2" : "v1")
                + " cpu-accounting=" + (cpuParent == null ? "none" : cpuV2 ? "v2" : "v1")
                + " tree-kill=" + (unifiedParent == null ? "signals" : "v2 cgroup.kill");
    }

    /** Reads {@code /proc/self/mountinfo} and {@code /proc/self/cgroup}, and tries to create the parents. */
    static Cgroups detect() {
        List<String> notes = new ArrayList<>();
        try {
            Map<String, Path> v1 = new LinkedHashMap<>(); // controller -> mountpoint
            Map<String, String> v1Root = new LinkedHashMap<>();
            Path v2 = null;
            String v2Root = "/";
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] halves = line.split(" - ", 2);
                if (halves.length != 2) {
                    continue;
                }
                String[] pre = halves[0].split(" ");
                String[] post = halves[1].split(" ");
                String fstype = post[0];
                Path mountPoint = Path.of(unescape(pre[4]));
                if (fstype.equals("cgroup2")) {
                    v2 = mountPoint;
                    v2Root = unescape(pre[3]);
                } else if (fstype.equals("cgroup") && post.length >= 3) {
                    for (String opt : post[2].split(",")) {
                        if (opt.equals("memory") || opt.equals("pids") || opt.equals("cpuacct")) {
                            v1.put(opt, mountPoint);
                            v1Root.put(opt, unescape(pre[3]));
                        }
                    }
                }
            }
            Map<String, String> own = new LinkedHashMap<>(); // controller (or "" for v2) -> path
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length != 3) {
                    continue;
                }
                if (f[0].equals("0") && f[1].isEmpty()) {
                    own.put("", f[2]);
                } else {
                    for (String c : f[1].split(",")) {
                        own.put(c, f[2]);
                    }
                }
            }
            String tag = "cordon-" + ProcessHandle.current().pid();
            Path memory = null;
            Path pids = null;
            Path cpu = null;
            boolean memoryV2 = false;
            boolean pidsV2 = false;
            boolean cpuV2 = false;
            Path unified = null;
            for (String c : new String[] {"memory", "pids", "cpuacct"}) {
                Path mp = v1.get(c);
                if (mp == null || own.get(c) == null) {
                    continue;
                }
                Path parent = under(mp, v1Root.get(c), own.get(c)).resolve(tag);
                if (makeParent(parent, notes, "v1 " + c)) {
                    switch (c) {
                        case "memory" -> memory = parent;
                        case "pids" -> pids = parent;
                        default -> cpu = parent;
                    }
                }
            }
            if (v2 != null && own.get("") != null) {
                Path ownDir = under(v2, v2Root, own.get(""));
                Path parent = ownDir.resolve(tag);
                if (makeParent(parent, notes, "v2")) {
                    unified = Files.exists(parent.resolve("cgroup.kill")) ? parent : null;
                    if (cpu == null && Files.exists(parent.resolve("cpu.stat"))) {
                        cpu = parent;
                        cpuV2 = true;
                    }
                    String controllers = read(ownDir.resolve("cgroup.controllers"));
                    List<String> wanted = new ArrayList<>();
                    if (memory == null && controllers.contains("memory")) {
                        wanted.add("memory");
                    }
                    if (pids == null && controllers.contains("pids")) {
                        wanted.add("pids");
                    }
                    for (String c : wanted) {
                        try {
                            // Our group must pass the controller down to its children: enable it in
                            // ours (fails with EBUSY if our group holds processes and is not the root).
                            if (!read(ownDir.resolve("cgroup.subtree_control")).contains(c)) {
                                Files.writeString(ownDir.resolve("cgroup.subtree_control"), "+" + c);
                            }
                            if (!read(parent.resolve("cgroup.subtree_control")).contains(c)) {
                                Files.writeString(parent.resolve("cgroup.subtree_control"), "+" + c);
                            }
                            if (c.equals("memory")) {
                                memory = parent;
                                memoryV2 = true;
                            } else {
                                pids = parent;
                                pidsV2 = true;
                            }
                        } catch (IOException e) {
                            notes.add("cgroup v2 controller " + c + " is not delegated to " + ownDir + " ("
                                    + e.getMessage() + "); run the JVM in a delegated cgroup, e.g. systemd-run"
                                    + " --scope -p Delegate=yes");
                        }
                    }
                }
            }
            if (memory == null) {
                notes.add("no usable memory cgroup: per-sandbox memory is bounded by RLIMIT_AS only");
            }
            if (pids == null) {
                notes.add("no usable pids cgroup: process counts are bounded by RLIMIT_NPROC only");
            }
            return new Cgroups(memory, memoryV2, pids, pidsV2, cpu, cpuV2, unified, notes);
        } catch (IOException | RuntimeException e) {
            return none("cgroups unreadable: " + e);
        }
    }

    private static Path under(Path mount, String mountRoot, String own) {
        String rel = own;
        if (mountRoot != null && !mountRoot.equals("/") && own.startsWith(mountRoot)) {
            rel = own.substring(mountRoot.length());
        }
        rel = rel.replaceFirst("^/+", "");
        return rel.isEmpty() ? mount : mount.resolve(rel);
    }

    private static boolean makeParent(Path parent, List<String> notes, String what) {
        try {
            sweepStale(parent.getParent());
            Files.createDirectories(parent);
            // The parent goes with the JVM; its leaves are removed as their sandboxes end.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Files.deleteIfExists(parent);
                } catch (IOException e) {
                    // a sandbox still draining: the next JVM's sweep removes it
                }
            }));
            return true;
        } catch (IOException e) {
            notes.add("cannot create " + what + " cgroup " + parent + ": " + e.getMessage());
            return false;
        }
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Creates the groups of one sandbox with its limits.
     *
     * @param memoryBytes memory limit of the whole sandbox
     * @param maxPids     tasks allowed in the sandbox, bwrap's own two included
     */
    Leaf create(long memoryBytes, long maxPids) throws IOException {
        String name = "s" + ids.incrementAndGet();
        List<Path> dirs = new ArrayList<>();
        Leaf leaf = new Leaf(dirs);
        try {
            Path mem = null;
            Path pid = null;
            Path cpuDir = null;
            Path uni = null;
            if (unifiedParent != null) {
                uni = mk(unifiedParent.resolve(name), dirs);
            }
            if (memoryParent != null) {
                mem = memoryV2 && uni != null && memoryParent.equals(unifiedParent) ? uni : mk(memoryParent.resolve(name), dirs);
                if (memoryV2) {
                    Files.writeString(mem.resolve("memory.max"), Long.toString(memoryBytes));
                    write(mem.resolve("memory.swap.max"), "0");
                } else {
                    Files.writeString(mem.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
                    // No swap: the memory bound is a RAM bound (the file exists only with swap accounting).
                    write(mem.resolve("memory.memsw.limit_in_bytes"), Long.toString(memoryBytes));
                }
            }
            if (pidsParent != null) {
                pid = pidsV2 && uni != null && pidsParent.equals(unifiedParent) ? uni : mkOrReuse(pidsParent.resolve(name), dirs);
                Files.writeString(pid.resolve("pids.max"), Long.toString(maxPids));
            }
            if (cpuParent != null) {
                cpuDir = cpuV2 && uni != null && cpuParent.equals(unifiedParent) ? uni : mkOrReuse(cpuParent.resolve(name), dirs);
            }
            leaf.init(mem, memoryV2, pid, cpuDir, cpuV2, uni);
            return leaf;
        } catch (IOException | RuntimeException e) {
            leaf.remove();
            throw e;
        }
    }

    private static Path mk(Path dir, List<Path> dirs) throws IOException {
        Files.createDirectory(dir);
        dirs.add(dir);
        return dir;
    }

    private static Path mkOrReuse(Path dir, List<Path> dirs) throws IOException {
        if (dirs.contains(dir)) {
            return dir;
        }
        return mk(dir, dirs);
    }

    private static void write(Path p, String v) {
        try {
            if (Files.exists(p)) {
                Files.writeString(p, v);
            }
        } catch (IOException e) {
            // optional knob (swap accounting off): the main limit is set
        }
    }

    /** The groups of one sandbox. */
    static final class Leaf {
        private final List<Path> dirs;
        private Path memory;
        private boolean memoryV2;
        private Path pids;
        private Path cpu;
        private boolean cpuV2;
        private Path unified;

        private Leaf(List<Path> dirs) {
            this.dirs = dirs;
        }

        private void init(Path memory, boolean memoryV2, Path pids, Path cpu, boolean cpuV2, Path unified) {
            this.memory = memory;
            this.memoryV2 = memoryV2;
            this.pids = pids;
            this.cpu = cpu;
            this.cpuV2 = cpuV2;
            this.unified = unified;
        }

        /** The {@code cgroup.procs} files the trampoline writes its pid into. */
        List<String> procsFiles() {
            List<String> l = new ArrayList<>();
            for (Path d : dirs) {
                l.add(d.resolve("cgroup.procs").toString());
            }
            return l;
        }

        /**
         * CPU time of every process that ran in the sandbox, in ns; -1 if not accounted. A failed
         * read returns the last value read, so callers never mix this with another clock.
         */
        long cpuNanos() {
            if (cpu == null) {
                return -1;
            }
            long v = -1;
            if (cpuV2) {
                for (String line : read(cpu.resolve("cpu.stat")).split("\n")) {
                    if (line.startsWith("usage_usec ")) {
                        v = Long.parseLong(line.substring(11).strip()) * 1000;
                    }
                }
            } else {
                String t = read(cpu.resolve("cpuacct.usage"));
                v = t.isEmpty() ? -1 : Long.parseLong(t);
            }
            if (v >= 0) {
                lastCpu = v;
            }
            return lastCpu;
        }

        private volatile long lastCpu;

        /**
         * How many times the kernel's OOM killer fired in this sandbox (remembered after the group
         * is removed: the sandbox may be gone before its owner asks).
         */
        long oomKills() {
            if (memory == null) {
                return 0;
            }
            String text = read(memory.resolve(memoryV2 ? "memory.events" : "memory.oom_control"));
            for (String line : text.split("\n")) {
                if (line.startsWith("oom_kill ")) {
                    lastOom = Math.max(lastOom, Long.parseLong(line.substring(9).strip()));
                }
            }
            return lastOom;
        }

        private volatile long lastOom;

        /** Peak memory use in bytes, or -1. */
        long peakMemory() {
            if (memory == null) {
                return -1;
            }
            String v = read(memory.resolve(memoryV2 ? "memory.peak" : "memory.max_usage_in_bytes"));
            return v.isEmpty() ? -1 : Long.parseLong(v);
        }

        /** Pids currently in the sandbox (host pid namespace), from any joined group. */
        List<Long> pids() {
            List<Long> out = new ArrayList<>();
            if (dirs.isEmpty()) {
                return out;
            }
            for (String s : read(dirs.getFirst().resolve("cgroup.procs")).split("\n")) {
                if (!s.isBlank()) {
                    out.add(Long.parseLong(s.strip()));
                }
            }
            return out;
        }

        boolean hasProcsFile() {
            return !dirs.isEmpty();
        }

        /** Kills every process in the sandbox: v2 cgroup.kill, else SIGKILL to each listed pid. */
        void killAll() {
            if (unified != null) {
                try {
                    Files.writeString(unified.resolve("cgroup.kill"), "1");
                    return;
                } catch (IOException e) {
                    // fall through to signals
                }
            }
            for (int round = 0; round < 50; round++) {
                List<Long> ps = pids();
                if (ps.isEmpty()) {
                    return;
                }
                for (long p : ps) {
                    ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }

        /** Removes the groups; the processes must be gone. Waits briefly for the kernel to reap. */
        void remove() {
            oomKills();
            cpuNanos();
            for (int i = dirs.size() - 1; i >= 0; i--) {
                Path d = dirs.get(i);
                for (int attempt = 0; attempt < 100; attempt++) {
                    try {
                        Files.deleteIfExists(d);
                        break;
                    } catch (IOException e) {
                        // EBUSY while the last task exits
                        try {
                            Thread.sleep(5);
                        } catch (InterruptedException ie) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                }
            }
            dirs.clear();
        }
    }

    /** Removes the cordon-PID parents of JVMs that no longer run (best effort, at startup). */
    static void sweepStale(Path hierarchyDir) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(hierarchyDir, "cordon-*")) {
            for (Path p : ds) {
                try {
                    long pid = Long.parseLong(p.getFileName().toString().substring(7));
                    if (ProcessHandle.of(pid).isEmpty()) {
                        try (DirectoryStream<Path> kids = Files.newDirectoryStream(p, "s*")) {
                            for (Path k : kids) {
                                Files.deleteIfExists(k);
                            }
                        }
                        Files.deleteIfExists(p);
                    }
                } catch (NumberFormatException | IOException e) {
                    // not ours, or still busy
                }
            }
        } catch (IOException e) {
            // nothing to sweep
        }
    }
}
