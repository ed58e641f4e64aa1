package dev.cordon.packages;

import dev.cordon.nativetier.EngineChoice;
import dev.cordon.policy.Policy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Where the in-JVM tier's Python finds packages, for the session wiring ({@code Gates}):
 * <ul>
 *   <li>{@link #graalpyPythonPath}: the context's {@code python.PythonPath}, i.e. {@code sys.path}
 *       entries in front of the standard library: the session's site directory
 *       ({@code <workspace_dir>/.cordon/site-packages}, when {@code allow_install} is true) first, so
 *       an installed version wins over a preinstalled one, then the curated copy of the
 *       preinstalled Debian packages;</li>
 *   <li>{@link #readOnlyDirs}: the host directories the workspace filesystem gate must show
 *       read-only (the curated copy, and {@code /usr/share/zoneinfo} when a preinstalled package
 *       reads the system time zone database).</li>
 * </ul>
 * Both are the same for every session of a policy, so they belong to the pool's context shape.
 * The native tier needs neither: its worker gets the site directory in its configuration and sees
 * Debian's packages in {@code /usr} directly.
 */
public final class PackageSites {

    private PackageSites() { }

    /** {@code sys.path} additions for GraalPy contexts under {@code p} (empty for a native-tier policy). */
    public static List<Path> graalpyPythonPath(Policy p) {
        if (EngineChoice.useNative(p)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        if (p.packages().python().allowInstall()) {
            out.add(Path.of(Installer.siteDir(p)));
        }
        for (Path d : readOnlyDirs(p)) {
            if (!d.equals(ZONEINFO)) {
                out.add(d);
            }
        }
        return List.copyOf(out);
    }

    /** Host directories guest code reads packages from (the curated Debian copy), or none. */
    public static List<Path> readOnlyDirs(Policy p) {
        if (EngineChoice.useNative(p) || p.packages().python().preinstalled().isEmpty()) {
            return List.of();
        }
        DebianPackages deb = DebianPackages.host();
        List<DebianPackages.Dist> dists = deb.closure(p.packages().python().preinstalled(), TargetEnv.graalpy(),
                new HashMap<>());
        if (dists.isEmpty()) {
            return List.of(); // nothing to show; the session's package check reports what is missing
        }
        List<Path> out = new ArrayList<>();
        out.add(deb.curatedSite(dists));
        // Debian patches pytz (and dateutil.tz and babel read it too) to use the system time zone
        // database instead of a bundled copy: show it, read-only. Public data; links in it stay inside.
        if (dists.stream().anyMatch(d -> TZDATA_USERS.contains(d.name())) && Files.isDirectory(ZONEINFO)) {
            out.add(ZONEINFO);
        }
        return List.copyOf(out);
    }

    static final Path ZONEINFO = Path.of("/usr/share/zoneinfo");

    /**
     * Environment the in-JVM tier needs for its packages: GraalPy's {@code zoneinfo.TZPATH} is empty
     * (measured), so when the time zone database is shown it is named in {@code PYTHONTZPATH}
     * (Debian's pytz lists zones through the standard {@code zoneinfo} module).
     */
    public static java.util.Map<String, String> graalpyEnvironment(Policy p) {
        return readOnlyDirs(p).contains(ZONEINFO) ? java.util.Map.of("PYTHONTZPATH", ZONEINFO.toString()) : java.util.Map.of();
    }
    private static final java.util.Set<String> TZDATA_USERS = java.util.Set.of("pytz", "python-dateutil", "babel");
}
