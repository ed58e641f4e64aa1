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

}
