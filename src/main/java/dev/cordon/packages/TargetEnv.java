package dev.cordon.packages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.decision.InstallDecisions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The interpreter packages are installed for: the values of PEP 508 environment markers and the
 * wheel tags it can load, best first (https://packaging.python.org/en/latest/specifications/platform-compatibility-tags/).
 *
 * <ul>
 *   <li>In-JVM tier: GraalPy 25.0.3 (Python 3.12.8, {@code implementation_name == "graalpy"},
 *       {@code platform_python_implementation == "GraalVM"}, values measured under GraalPy). Native
 *       access is off, so only pure wheels ({@code py3-none-any}, {@code py312-none-any}, ...)
 *       load.</li>
 *   <li>Native tier: the host's CPython ({@code /usr/bin/python3}), whose markers, glibc and machine
 *       are read once per JVM by running it ({@code -I -S}, about 20 ms). Pure wheels plus
 *       {@code cp311}/{@code abi3} wheels for {@code manylinux_2_X} up to the host's glibc.</li>
 * </ul>
 */
final class TargetEnv {

    enum Tier {
        GRAALPY("in-JVM GraalPy tier"), NATIVE("native CPython tier");

        final String description;

        Tier(String description) {
            this.description = description;
        }
    }

    /** GraalPy 25.0.3 implements Python 3.12.8 (checked by PackagesGraalPyTest against the running engine). */
    static final String GRAALPY_PYTHON = "3.12.8";
    static final String GRAALPY_VERSION = "25.0.3";

    private static final Map<Path, TargetEnv> NATIVE = new ConcurrentHashMap<>();
    private static volatile TargetEnv graalpy;

    final Tier tier;
    final Map<String, String> markers;
    final Pep440.Version python;
    /** Tag triple "python-abi-platform" to rank (0 is best). */
    private final Map<String, Integer> tags;

    private TargetEnv(Tier tier, Map<String, String> markers, Map<String, Integer> tags) {
        this.tier = tier;
        this.markers = Map.copyOf(markers);
        this.python = Pep440.Version.parse(markers.get("python_full_version"));
        this.tags = Map.copyOf(tags);
    }

    static TargetEnv graalpy() {
        TargetEnv t = graalpy;
        if (t == null) {
            Map<String, String> m = new HashMap<>();
            m.put("os_name", "posix");
            m.put("sys_platform", "linux");
            m.put("platform_system", "Linux");
            m.put("platform_machine", machine(System.getProperty("os.arch")));
            m.put("platform_release", System.getProperty("os.version", ""));
            m.put("platform_version", "");
            m.put("platform_python_implementation", "GraalVM");
            m.put("implementation_name", "graalpy");
            m.put("implementation_version", GRAALPY_PYTHON);
            m.put("python_version", GRAALPY_PYTHON.substring(0, GRAALPY_PYTHON.lastIndexOf('.')));
            m.put("python_full_version", GRAALPY_PYTHON);
            Map<String, Integer> tags = new LinkedHashMap<>();
            pureTags(tags, 12, List.of("any"), null);
            t = graalpy = new TargetEnv(Tier.GRAALPY, m, tags);
        }
        return t;
    }

    /**
     * The host CPython at {@code python}, probed once per JVM.
     *
     * @throws IOException when it cannot be run
     */
    static TargetEnv nativeCpython(Path python) throws IOException {
        TargetEnv t = NATIVE.get(python);
        if (t != null) {
            return t;
        }
        String code = "import json, os, sys, platform\n"
                + "i = sys.implementation\n"
                + "v = '%d.%d.%d' % i.version[:3] + ('' if i.version.releaselevel == 'final' else i.version.releaselevel[0] + str(i.version.serial))\n"
                + "print(json.dumps({'os_name': os.name, 'sys_platform': sys.platform, 'platform_machine': platform.machine(),"
                + " 'platform_python_implementation': platform.python_implementation(), 'platform_release': platform.release(),"
                + " 'platform_system': platform.system(), 'platform_version': platform.version(),"
                + " 'python_version': '.'.join(platform.python_version_tuple()[:2]), 'python_full_version': platform.python_version(),"
                + " 'implementation_name': i.name, 'implementation_version': v, 'glibc': platform.libc_ver()[1],"
                + " 'abi': sys.implementation.cache_tag}))\n";
        Process p = new ProcessBuilder(python.toString(), "-I", "-S", "-c", code).redirectErrorStream(true).start();
        byte[] out;
        try (var in = p.getInputStream()) {
            out = in.readNBytes(1 << 16);
        }
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(python + " did not describe itself: " + new String(out, StandardCharsets.UTF_8).strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while probing " + python);
        }
        JsonNode n = new ObjectMapper().readTree(out);
        Map<String, String> m = new HashMap<>();
        for (String k : Pep508.VARIABLES) {
            if (!k.equals("extra")) {
                m.put(k, n.path(k).asText(""));
            }
        }
        String[] pv = m.get("python_version").split("\\.");
        int minor = Integer.parseInt(pv[1]);
        String machine = m.get("platform_machine");
        String glibc = n.path("glibc").asText("");
        Map<String, Integer> tags = new LinkedHashMap<>();
        List<String> plats = linuxPlatforms(machine, glibc);
        String cp = "cp3" + minor;
        for (String pl : plats) {
            add(tags, cp, cp, pl);
        }
        for (int x = minor; x >= 2; x--) {
            for (String pl : plats) {
                add(tags, "cp3" + x, "abi3", pl);
            }
        }
        for (String pl : plats) {
            add(tags, cp, "none", pl);
        }
        pureTags(tags, minor, plats, null);
        add(tags, cp, "none", "any");
        pureTags(tags, minor, List.of("any"), null);
        t = new TargetEnv(Tier.NATIVE, m, tags);
        NATIVE.putIfAbsent(python, t);
        return NATIVE.get(python);
    }

    /** pip's order: pyXY, py3, then pyX(Y-1) ... py30. */
    private static void pureTags(Map<String, Integer> tags, int minor, List<String> plats, String abi) {
        for (String pl : plats) {
            add(tags, "py3" + minor, "none", pl);
            add(tags, "py3", "none", pl);
            for (int x = minor - 1; x >= 0; x--) {
                add(tags, "py3" + x, "none", pl);
            }
        }
    }

    private static void add(Map<String, Integer> tags, String py, String abi, String plat) {
        tags.putIfAbsent(py + "-" + abi + "-" + plat, tags.size());
    }

    /** manylinux tags from the host glibc down, with the legacy aliases, then plain linux_ARCH. */
    static List<String> linuxPlatforms(String machine, String glibc) {
        List<String> out = new ArrayList<>();
        int glibcMinor = 17;
        String[] g = glibc.split("\\.");
        if (g.length >= 2 && g[0].equals("2")) {
            try {
                glibcMinor = Integer.parseInt(g[1]);
            } catch (NumberFormatException e) {
                // keep the conservative default
            }
        }
        boolean legacy = machine.equals("x86_64") || machine.equals("i686");
        int lowest = legacy ? 5 : 17;
        for (int m = glibcMinor; m >= lowest; m--) {
            out.add("manylinux_2_" + m + "_" + machine);
            if (m == 17 && (legacy || machine.equals("aarch64") || machine.equals("ppc64le") || machine.equals("s390x"))) {
                out.add("manylinux2014_" + machine);
            }
            if (m == 12 && legacy) {
                out.add("manylinux2010_" + machine);
            }
            if (m == 5 && legacy) {
                out.add("manylinux1_" + machine);
            }
        }
        out.add("linux_" + machine);
        return out;
    }

    static String machine(String osArch) {
        return switch (osArch == null ? "" : osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            case "x86", "i386", "i686" -> "i686";
            default -> osArch;
        };
    }

    /** The best rank among the wheel's tag triples, or -1 when this interpreter cannot load it. */
    int rank(WheelName w) {
        int best = -1;
        for (String py : w.pythonTags()) {
            for (String abi : w.abiTags()) {
                for (String pl : w.platformTags()) {
                    Integer r = tags.get(py + "-" + abi + "-" + pl);
                    if (r != null && (best < 0 || r < best)) {
                        best = r;
                    }
                }
            }
        }
        return best;
    }

    /** Whether {@code requiresPython} (a specifier set, may be null) admits this interpreter. */
    boolean pythonOk(String requiresPython) {
        if (requiresPython == null || requiresPython.isBlank()) {
            return true;
        }
        try {
            return Pep440.SpecifierSet.parse(requiresPython).contains(python);
        } catch (IllegalArgumentException e) {
            return false; // unparseable: not provably compatible
        }
    }

    String describe() {
        return tier == Tier.GRAALPY ? tier.description + " (GraalPy " + GRAALPY_VERSION + ", Python " + GRAALPY_PYTHON
                + ", pure-Python wheels only)" : tier.description + " (CPython " + markers.get("python_full_version") + ")";
    }

    /** A wheel file name, parsed (PEP 427). */
    record WheelName(String distribution, String version, List<String> pythonTags, List<String> abiTags,
            List<String> platformTags, String fileName) {

        /** Parses {@code name-version(-build)?-py-abi-plat.whl}; null when it is not a wheel name. */
        static WheelName parse(String fileName) {
            if (!fileName.endsWith(".whl") || fileName.indexOf('/') >= 0) {
                return null;
            }
            String[] p = fileName.substring(0, fileName.length() - 4).split("-");
            if (p.length != 5 && p.length != 6) {
                return null;
            }
            int n = p.length;
            if (Pep440.Version.tryParse(p[1]) == null) {
                return null;
            }
            return new WheelName(p[0], p[1], List.of(p[n - 3].toLowerCase(Locale.ROOT).split("\\.")),
                    List.of(p[n - 2].toLowerCase(Locale.ROOT).split("\\.")),
                    List.of(p[n - 1].toLowerCase(Locale.ROOT).split("\\.")), fileName);
        }

        String normalizedName() {
            return InstallDecisions.normalize(distribution);
        }
    }
}
