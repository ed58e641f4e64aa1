package dev.cordon.nativetier;

import dev.cordon.decision.ExecDecisions;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What of the host the sandbox shows, probed once per JVM: the merged-/usr symlinks, the /etc
 * entries a Python data stack needs, and where commands live on the trusted PATH.
 */
final class HostLayout {

    /**
     * /etc entries bound read-only when present. Each is here for a reason:
     * ld.so.cache/ld.so.conf* (shared library lookup), alternatives (Debian's BLAS/LAPACK symlinks
     * for numpy), ssl + ca-certificates (TLS through the proxy), fonts + matplotlibrc (matplotlib),
     * localtime (time zone), mime.types (mimetypes), nsswitch.conf + protocols + services (libc
     * lookups), python3* (Debian's sitecustomize).
     */
    static final List<String> ETC = List.of("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
            "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/fonts", "/etc/matplotlibrc",
            "/etc/localtime", "/etc/mime.types", "/etc/nsswitch.conf", "/etc/protocols", "/etc/services",
            "/etc/python3", "/etc/python3.11", "/etc/python3.12", "/etc/python3.13");

    private static final List<String> ROOT_ENTRIES = List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32");

    final SortedMap<String, String> rootLinks;
    final List<String> rootDirs;
    final List<String> etcFiles;

    private HostLayout(SortedMap<String, String> rootLinks, List<String> rootDirs, List<String> etcFiles) {
        this.rootLinks = rootLinks;
        this.rootDirs = rootDirs;
        this.etcFiles = etcFiles;
    }

    static HostLayout probe() {
        SortedMap<String, String> links = new TreeMap<>();
        List<String> dirs = new ArrayList<>();
        for (String e : ROOT_ENTRIES) {
            Path p = Path.of("/", e);
            try {
                if (Files.isSymbolicLink(p)) {
                    links.put(p.toString(), Files.readSymbolicLink(p).toString());
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    dirs.add(p.toString());
                }
            } catch (IOException ex) {
                // unreadable entry: leave it out of the sandbox
            }
        }
        List<String> etc = new ArrayList<>();
        for (String e : ETC) {
            if (Files.exists(Path.of(e))) {
                etc.add(e);
            }
        }
        return new HostLayout(links, dirs, etc);
    }

    /**
     * The host path of command {@code name} on the trusted PATH, trying the python/pip family
     * (python -> python3) when the plain name is absent; null if none is executable.
     */
    static Path resolve(String name) {
        for (String candidate : familyCandidates(name)) {
            for (String dir : ExecDecisions.TRUSTED_PATH) {
                Path p = Path.of(dir, candidate);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    private static List<String> familyCandidates(String name) {
        if (name.equals("python")) {
            return List.of("python", "python3");
        }
        if (name.equals("pip")) {
            return List.of("pip", "pip3");
        }
        return List.of(name);
    }

    /**
     * Sandbox paths to mask for blocked commands: every entry in the trusted dirs whose name the
     * policy entry matches (the python family included), and the files their symlinks lead to.
     * Files that an allowed command or {@code keep} (the worker's interpreter) resolve to are never
     * masked: on a host where sh is bash, blocking sh must not take an allowed bash away.
     */
    static List<String> masksFor(List<String> blocked, List<String> allowed, Path keep) {
        // Scanning the bin dirs costs a few ms: once per distinct policy and JVM.
        return MASKS.computeIfAbsent(List.of(blocked, allowed, String.valueOf(keep)), k -> computeMasks(blocked, allowed, keep));
    }

    private static final java.util.Map<List<Object>, List<String>> MASKS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.Map<dev.cordon.policy.SubprocessPolicy, List<String>> EXEC_ALLOW =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static List<String> computeMasks(List<String> blocked, List<String> allowed, Path keep) {
        TreeSet<String> out = new TreeSet<>();
        if (blocked.isEmpty()) {
            return List.of();
        }
        java.util.Set<Path> spared = new java.util.HashSet<>();
        try {
            if (keep != null) {
                spared.add(keep.toRealPath());
            }
        } catch (IOException e) {
            // nothing to spare
        }
        for (String a : allowed) {
            if (blocked.stream().anyMatch(b -> ExecDecisions.matches(b, a))) {
                continue; // blocked wins over allowed, here too
            }
            Path p = a.indexOf('/') >= 0 ? null : resolve(a);
            try {
                if (p != null) {
                    spared.add(p.toRealPath());
                }
            } catch (IOException e) {
                // unresolvable: nothing to spare
            }
        }
        for (String dir : ExecDecisions.TRUSTED_PATH) {
            Path d = Path.of(dir);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
                for (Path p : ds) {
                    String name = p.getFileName().toString();
                    for (String b : blocked) {
                        if (ExecDecisions.matches(b, name)) {
                            try {
                                Path real = p.toRealPath();
                                if (spared.contains(real)) {
                                    continue;
                                }
                                if (Files.isRegularFile(real)) {
                                    out.add(real.toString());
                                }
                            } catch (IOException e) {
                                // dangling link: nothing to run
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // unreadable dir: nothing found there
            }
        }
        // Masking the real file masks every link to it, whatever its name (python3 -> python3.11).
        return List.copyOf(out);
    }


    /** Dynamic loaders: executing any dynamically linked program opens one of these for execution. */
    private static final List<String> LOADERS = List.of("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1",
            "/lib/ld-linux-armhf.so.3", "/lib/ld-linux.so.2");

    /**
     * The files the native worker's Landlock ruleset lets execute: every allowed (and not blocked)
     * command found on the trusted PATH, its family members (python -> python3, python3.11), the
     * interpreters named in script shebangs (pip -> python3), and the dynamic loader. Real paths:
     * Landlock rules hold on inodes, so every link to an allowed file works and nothing else does.
     */
    static List<String> execAllowlist(dev.cordon.policy.SubprocessPolicy sp) {
        return EXEC_ALLOW.computeIfAbsent(sp, HostLayout::computeExecAllowlist);
    }

    private static List<String> computeExecAllowlist(dev.cordon.policy.SubprocessPolicy sp) {
        TreeSet<String> out = new TreeSet<>();
        if (!sp.allow()) {
            return List.of();
        }
        for (String dir : ExecDecisions.TRUSTED_PATH) {
            Path d = Path.of(dir);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
                for (Path p : ds) {
                    String name = p.getFileName().toString();
                    if (sp.allowedCommands().stream().noneMatch(a -> ExecDecisions.matches(a, name))
                            || sp.blockedCommands().stream().anyMatch(b -> ExecDecisions.matches(b, name))) {
                        continue;
                    }
                    addWithInterpreter(p, out, 0);
                }
            } catch (IOException e) {
                // unreadable dir: nothing allowed from there
            }
        }
        if (!out.isEmpty()) {
            for (String l : LOADERS) {
                try {
                    Path real = Path.of(l).toRealPath();
                    out.add(real.toString());
                } catch (IOException e) {
                    // not this architecture
                }
            }
        }
        return List.copyOf(out);
    }

    private static void addWithInterpreter(Path p, TreeSet<String> out, int depth) {
        try {
            Path real = p.toRealPath();
            if (!Files.isRegularFile(real) || !Files.isExecutable(real) || !out.add(real.toString()) || depth > 3) {
                return;
            }
            byte[] head = new byte[256];
            int n;
            try (var in = Files.newInputStream(real)) {
                n = in.readNBytes(head, 0, head.length);
            }
            if (n > 2 && head[0] == '#' && head[1] == '!') {
                String line = new String(head, 2, n - 2, java.nio.charset.StandardCharsets.ISO_8859_1).split("\n", 2)[0].strip();
                String interp = line.split("\\s+")[0];
                if (interp.startsWith("/")) {
                    addWithInterpreter(Path.of(interp), out, depth + 1);
                }
            }
        } catch (IOException e) {
            // dangling link or unreadable: not executable anyway
        }
    }
}
