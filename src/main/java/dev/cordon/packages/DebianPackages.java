package dev.cordon.packages;

import dev.cordon.decision.InstallDecisions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host's Debian Python packages ({@code python3-*}, in {@code /usr/lib/python3/dist-packages}):
 * which distributions are there, in which version, with which top-level modules and which
 * requirements; and, for the in-JVM tier, a curated copy of just the packages a policy preinstalls.
 *
 * <p>Why a copy: GraalPy sees a host directory only through the workspace filesystem gate, which
 * shows extra read-only directories at their own paths and refuses links that lead out of them. A
 * directory of only the listed packages (and the packages they require) keeps guest code from
 * seeing, and importing, everything else the host has installed. Only what GraalPy can use is
 * copied: sources and data, never CPython extension modules ({@code *.so}) or CPython's bytecode
 * caches; GraalPy's own bytecode is compiled into the copy once, in the background
 * ({@link PackageCheck#precompileLater}). The packages a distribution needs are followed through
 * its metadata and through dpkg's Depends (Debian often strips the former).
 * The copy is made once per set of packages and kept under {@code cordon.packages.cache}
 * (default {@code ~/.cache/cordon}); it is not under {@code /tmp}, which guest code sees as its own.
 */
final class DebianPackages {

    /** A distribution found on the host. {@code metaDir} is its .dist-info or .egg-info directory. */
    record Dist(String name, String version, Path metaDir, List<String> topLevel, List<String> requires) {
        /** Top-level modules guest code imports (private ones such as {@code _yaml} left out). */
        List<String> importNames() {
            List<String> out = new ArrayList<>();
            for (String t : topLevel) {
                if (!t.startsWith("_")) {
                    out.add(t);
                }
            }
            return out.isEmpty() ? topLevel : out;
        }
    }

    static final Path DEFAULT_DIR = Path.of("/usr/lib/python3/dist-packages");
    private static final Map<Path, DebianPackages> SCANS = new ConcurrentHashMap<>();
    private static final Map<String, Path> SITES = new ConcurrentHashMap<>();

    final Path dir;
    private final Map<String, Dist> dists;

    /** Distribution name -> the distributions its Debian package depends on (dpkg's Depends). */
    private final Map<String, List<String>> debianDeps;

    private DebianPackages(Path dir, Map<String, Dist> dists, Map<String, List<String>> debianDeps) {
        this.dir = dir;
        this.dists = dists;
        this.debianDeps = debianDeps;
    }

    /** The host's dist-packages ({@code cordon.packages.debianDir} overrides it), scanned once per JVM. */
    static DebianPackages host() {
        return at(Path.of(System.getProperty("cordon.packages.debianDir", DEFAULT_DIR.toString())));
    }

    static DebianPackages at(Path dir) {
        return SCANS.computeIfAbsent(dir.toAbsolutePath().normalize(), DebianPackages::scan);
    }

    Dist find(String name) {
        return dists.get(InstallDecisions.normalize(name));
    }

    private static DebianPackages scan(Path dir) {
        Map<String, Dist> out = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return new DebianPackages(dir, out, Map.of());
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String fn = p.getFileName().toString();
                boolean distInfo = fn.endsWith(".dist-info");
                boolean eggInfo = fn.endsWith(".egg-info");
                if (!distInfo && !eggInfo) {
                    continue;
                }
                try {
                    Dist d = read(dir, p, distInfo);
                    if (d != null) {
                        out.putIfAbsent(d.name(), d);
                    }
                } catch (IOException | IllegalArgumentException e) {
                    // an unreadable entry is as good as absent
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir, e);
        }
        return new DebianPackages(dir, out, dpkgDepends(dir, out));
    }

    static final Path DPKG = Path.of("/var/lib/dpkg");

    /**
     * Debian records a python3-* package's requirements in its own Depends field and often strips
     * them from the Python metadata (python3-dateutil's requires.txt is empty, yet it imports six).
     * Which package owns which distribution comes from dpkg's file lists
     * ({@code /var/lib/dpkg/info/python3-*.list}, about 100 small files); the Depends fields from
     * {@code /var/lib/dpkg/status}. Read once per JVM; empty on a host without dpkg.
     */
    private static Map<String, List<String>> dpkgDepends(Path dir, Map<String, Dist> dists) {
        Map<String, String> ownerOfEntry = new java.util.HashMap<>();
        String prefix = dir.toString() + "/";
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(DPKG.resolve("info"), "python3-*.list")) {
            for (Path l : ds) {
                String fn = l.getFileName().toString();
                String pkg = fn.substring(0, fn.length() - ".list".length()).split(":")[0];
                for (String line : Files.readAllLines(l, StandardCharsets.UTF_8)) {
                    if (line.startsWith(prefix) && line.indexOf('/', prefix.length()) < 0) {
                        ownerOfEntry.put(line.substring(prefix.length()), pkg);
                    }
                }
            }
        } catch (IOException | UncheckedIOException e) {
            return Map.of();
        }
        Map<String, List<String>> distsOfPackage = new java.util.HashMap<>();
        Map<String, String> packageOfDist = new java.util.HashMap<>();
        for (Dist d : dists.values()) {
            String pkg = ownerOfEntry.get(d.metaDir().getFileName().toString());
            if (pkg != null) {
                distsOfPackage.computeIfAbsent(pkg, k -> new ArrayList<>()).add(d.name());
                packageOfDist.put(d.name(), pkg);
            }
        }
        Map<String, List<String>> depends = new java.util.HashMap<>();
        try {
            String pkg = null;
            for (String line : Files.readAllLines(DPKG.resolve("status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Package: ")) {
                    pkg = line.substring(9).strip();
                } else if (line.startsWith("Depends: ") && pkg != null && distsOfPackage.containsKey(pkg)) {
                    List<String> deps = new ArrayList<>();
                    for (String alt : line.substring(9).split(",")) {
                        String first = alt.split("\\|")[0].strip().split("[\\s(:]")[0];
                        deps.add(first);
                    }
                    depends.put(pkg, deps);
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        Map<String, List<String>> out = new java.util.HashMap<>();
        for (Map.Entry<String, String> e : packageOfDist.entrySet()) {
            List<String> req = new ArrayList<>();
            for (String dep : depends.getOrDefault(e.getValue(), List.of())) {
                for (String d : distsOfPackage.getOrDefault(dep, List.of())) {
                    if (!d.equals(e.getKey())) {
                        req.add(d);
                    }
                }
            }
            out.put(e.getKey(), List.copyOf(req));
        }
        return out;
    }

    private static Dist read(Path dir, Path meta, boolean distInfo) throws IOException {
        CoreMetadata md;
        List<String> requires = new ArrayList<>();
        if (Files.isDirectory(meta)) {
            Path mf = meta.resolve(distInfo ? "METADATA" : "PKG-INFO");
            if (!Files.isRegularFile(mf)) {
                return null;
            }
            md = CoreMetadata.parse(Files.readAllBytes(mf));
            if (distInfo) {
                requires.addAll(md.requiresDist());
            } else if (Files.isRegularFile(meta.resolve("requires.txt"))) {
                requires.addAll(eggRequires(Files.readString(meta.resolve("requires.txt"))));
            }
        } else if (Files.isRegularFile(meta)) {
            md = CoreMetadata.parse(Files.readAllBytes(meta)); // a single-file .egg-info is PKG-INFO itself
        } else {
            return null;
        }
        List<String> top = new ArrayList<>();
        Path tl = meta.resolve("top_level.txt");
        if (Files.isRegularFile(tl)) {
            for (String l : Files.readAllLines(tl, StandardCharsets.UTF_8)) {
                if (!l.isBlank()) {
                    top.add(l.strip().replace('/', '.').split("\\.")[0]);
                }
            }
        } else if (Files.isRegularFile(meta.resolve("RECORD"))) {
            Set<String> seen = new LinkedHashSet<>();
            for (String l : Files.readAllLines(meta.resolve("RECORD"), StandardCharsets.UTF_8)) {
                String path = l.split(",")[0];
                if (path.isEmpty() || path.startsWith("..") || path.startsWith("/")) {
                    continue;
                }
                String first = path.split("/")[0];
                if (first.endsWith(".dist-info") || first.endsWith(".data") || first.equals("__pycache__")) {
                    continue;
                }
                seen.add(first.endsWith(".py") ? first.substring(0, first.length() - 3) : first);
            }
            top.addAll(seen);
        }
        if (top.isEmpty()) {
            top.add(InstallDecisions.normalize(md.name()).replace('-', '_'));
        }
        List<String> present = new ArrayList<>();
        for (String t : new LinkedHashSet<>(top)) {
            if (Files.isDirectory(dir.resolve(t), LinkOption.NOFOLLOW_LINKS)
                    || Files.isRegularFile(dir.resolve(t + ".py"), LinkOption.NOFOLLOW_LINKS)) {
                present.add(t);
            }
        }
        return new Dist(md.normalizedName(), md.version(), meta, List.copyOf(present), List.copyOf(requires));
    }

    /** setuptools' requires.txt: base requirements first; {@code [extra]} and {@code [:marker]} sections after. */
    static List<String> eggRequires(String text) {
        List<String> out = new ArrayList<>();
        String marker = null;
        boolean inExtra = false;
        for (String raw : text.split("\r?\n")) {
            String l = raw.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            if (l.startsWith("[") && l.endsWith("]")) {
                String sec = l.substring(1, l.length() - 1);
                int colon = sec.indexOf(':');
                inExtra = colon != 0 && !sec.isEmpty();
                marker = colon >= 0 ? sec.substring(colon + 1) : null;
                continue;
            }
            if (inExtra) {
                continue;
            }
            out.add(marker == null || marker.isBlank() ? l : l + " ; " + marker);
        }
        return out;
    }

    /**
     * The distributions {@code names} need on {@code env}: themselves and, transitively, their base
     * requirements that are present on the host. Names not found go to {@code missing} (name ->
     * what needed it, "" for the policy itself).
     */
    List<Dist> closure(List<String> names, TargetEnv env, Map<String, String> missing) {
        Map<String, Dist> out = new LinkedHashMap<>();
        Deque<String[]> todo = new ArrayDeque<>();
        for (String n : names) {
            todo.add(new String[] {InstallDecisions.normalize(n), ""});
        }
        while (!todo.isEmpty()) {
            String[] t = todo.poll();
            if (out.containsKey(t[0]) || missing.containsKey(t[0])) {
                continue;
            }
            Dist d = dists.get(t[0]);
            if (d == null) {
                missing.put(t[0], t[1]);
                continue;
            }
            out.put(t[0], d);
            for (String dep : debianDeps.getOrDefault(d.name(), List.of())) {
                todo.add(new String[] {dep, d.name()});
            }
            for (String r : d.requires()) {
                try {
                    Pep508.Requirement req = Pep508.parse(r);
                    if (req.applies(env.markers, "")) {
                        todo.add(new String[] {req.normalized(), d.name()});
                    }
                } catch (IllegalArgumentException e) {
                    // a requirement we cannot read is not followed; the import check catches a real gap
                }
            }
        }
        return List.copyOf(out.values());
    }

    // ---------------------------------------------------------------- curated site for GraalPy

    /** The cache root: {@code cordon.packages.cache}, else {@code ~/.cache/cordon}. */
    static Path cacheRoot() {
        String p = System.getProperty("cordon.packages.cache");
        return p != null ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "cordon");
    }

    /**
     * A directory holding copies of exactly {@code dists} (modules and metadata), created once per
     * set and reused; safe against concurrent JVMs (built aside, then renamed into place).
     */
    Path curatedSite(List<Dist> dists) {
        StringBuilder key = new StringBuilder(LAYOUT + "\n" + dir);
        for (Dist d : dists.stream().sorted(java.util.Comparator.comparing(Dist::name)).toList()) {
            key.append('\n').append(d.name()).append('=').append(d.version());
        }
        String id = HexFormat.of().formatHex(digest(key.toString())).substring(0, 16);
        return SITES.computeIfAbsent(id, k -> build(k, dists));
    }

    private Path build(String id, List<Dist> dists) {
        Path root = cacheRoot().toAbsolutePath().normalize();
        Path target = root.resolve("graalpy-site-" + id);
        if (Files.isRegularFile(target.resolve(".cordon-complete"))) {
            PackageCheck.precompileLater(target);
            return target;
        }
        Path tmp = null;
        try {
            Files.createDirectories(root);
            tmp = Files.createTempDirectory(root, ".graalpy-site-" + id + "-");
            for (Dist d : dists) {
                for (String t : d.topLevel()) {
                    copy(dir.resolve(t), tmp.resolve(t));
                    copy(dir.resolve(t + ".py"), tmp.resolve(t + ".py"));
                }
                copy(d.metaDir(), tmp.resolve(d.metaDir().getFileName().toString()));
            }
            Files.writeString(tmp.resolve(".cordon-complete"), String.join("\n",
                    dists.stream().map(d -> d.name() + "==" + d.version()).toList()) + "\n");
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isRegularFile(target.resolve(".cordon-complete"))) {
                    throw e; // not a lost race with another JVM
                }
                deleteTree(tmp);
            }
            PackageCheck.precompileLater(target);
            return target;
        } catch (IOException e) {
            if (tmp != null) {
                deleteTree(tmp);
            }
            throw new UncheckedIOException("cannot prepare the in-JVM tier's package directory under " + root
                    + " (set -Dcordon.packages.cache=DIR to a writable directory): " + e.getMessage(), e);
        }
    }

    /**
     * Copies a file or tree; skips bytecode caches and CPython extension modules. Debian links some
     * package data out to {@code /usr/share} (babel's locale data, for instance): a link whose
     * target lies under {@code /usr} is copied as its target's content (so the copy holds no link
     * that leads out), any other link is skipped.
     */
    private static void copy(Path from, Path to) throws IOException {
        copy(from, to, 0);
    }

    private static void copy(Path from, Path to, int depth) throws IOException {
        if (depth > 64 || !Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path src = from;
        if (Files.isSymbolicLink(from)) {
            Path real;
            try {
                real = from.toRealPath();
            } catch (IOException e) {
                return; // a dangling link
            }
            if (!real.startsWith(USR)) {
                return;
            }
            src = real;
        }
        String n = src.getFileName() == null ? "" : src.getFileName().toString();
        if (Files.isRegularFile(src, LinkOption.NOFOLLOW_LINKS)) {
            if (!n.endsWith(".so") && !n.endsWith(".pyc")) {
                Files.copy(src, to, LinkOption.NOFOLLOW_LINKS);
            }
        } else if (Files.isDirectory(src, LinkOption.NOFOLLOW_LINKS) && !n.equals("__pycache__")) {
            Files.createDirectories(to);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(src)) {
                for (Path c : ds) {
                    copy(c, to.resolve(c.getFileName().toString()), depth + 1);
                }
            }
        }
    }

    private static final Path USR = Path.of("/usr");
    /** Bumped whenever what a curated copy holds changes, so older copies are not reused. */
    private static final String LAYOUT = "curated-4";

    static void deleteTree(Path p) {
        try {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            Files.walkFileTree(p, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.delete(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // best effort: a leftover temp directory is harmless
        }
    }

    private static byte[] digest(String s) {
        MessageDigest md = SimpleIndex.sha();
        return md.digest(s.getBytes(StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- names

    /** Debian package names where they are not {@code python3-<name>}. */
    private static final Map<String, String> DEBIAN = Map.ofEntries(
            Map.entry("pyyaml", "python3-yaml"), Map.entry("python-dateutil", "python3-dateutil"),
            Map.entry("attrs", "python3-attr"), Map.entry("beautifulsoup4", "python3-bs4"),
            Map.entry("pillow", "python3-pil"), Map.entry("scikit-learn", "python3-sklearn"),
            Map.entry("pyjwt", "python3-jwt"), Map.entry("opencv-python", "python3-opencv"),
            Map.entry("pyopenssl", "python3-openssl"), Map.entry("odfpy", "python3-odf"),
            Map.entry("tables", "python3-tables"), Map.entry("typing-extensions", "python3-typing-extensions"),
            Map.entry("msgpack", "python3-msgpack"), Map.entry("protobuf", "python3-protobuf"),
            Map.entry("pygments", "python3-pygments"), Map.entry("jinja2", "python3-jinja2"),
            Map.entry("markupsafe", "python3-markupsafe"), Map.entry("more-itertools", "python3-more-itertools"),
            Map.entry("et-xmlfile", "python3-et-xmlfile"), Map.entry("pyparsing", "python3-pyparsing"));

    /** The Debian package that provides distribution {@code name} (by Debian's naming convention). */
    static String debianPackage(String name) {
        String n = InstallDecisions.normalize(name);
        return DEBIAN.getOrDefault(n, "python3-" + n);
    }

    /** Import names where they differ from the distribution name (for packages not on the host). */
    private static final Map<String, String> IMPORTS = Map.ofEntries(
            Map.entry("pyyaml", "yaml"), Map.entry("python-dateutil", "dateutil"), Map.entry("attrs", "attr"),
            Map.entry("beautifulsoup4", "bs4"), Map.entry("pillow", "PIL"), Map.entry("scikit-learn", "sklearn"),
            Map.entry("pyjwt", "jwt"), Map.entry("opencv-python", "cv2"), Map.entry("pyopenssl", "OpenSSL"),
            Map.entry("odfpy", "odf"), Map.entry("typing-extensions", "typing_extensions"),
            Map.entry("protobuf", "google.protobuf"));

    static String guessImport(String name) {
        String n = InstallDecisions.normalize(name);
        return IMPORTS.getOrDefault(n, n.replace('-', '_'));
    }
}
