package dev.cordon.nativetier;

import dev.cordon.policy.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code execution.engine} rule (extension key, {@code graalpy | native | auto}, default
 * {@code auto}):
 * <ul>
 *   <li>{@code native}: every call runs in the native worker ({@link NativeSession});</li>
 *   <li>{@code graalpy}: every call runs in GraalPy; processes still go through the native tier;</li>
 *   <li>{@code auto}: native when {@code packages.python.preinstalled} lists a package that needs
 *       native code (CPython C extensions GraalPy cannot load: {@link #NATIVE_PACKAGES}), else
 *       GraalPy. The choice is made per session, from the policy alone, so it never changes between
 *       calls of one session.</li>
 * </ul>
 */
public final class EngineChoice {

    /**
     * Packages (PEP 503 names) whose Debian builds are C extensions, or depend on one, and so run
     * only in the native tier. DESIGN.md section 3: Debian's numpy cannot load in GraalPy;
     * {@code requests} needs {@code unicodedata} natives; XML parsers need pyexpat.
     */
    public static final Set<String> NATIVE_PACKAGES = Set.of("numpy", "pandas", "matplotlib", "scipy", "scikit-learn",
            "sklearn", "seaborn", "statsmodels", "pillow", "lxml", "pyarrow", "opencv-python", "torch", "tensorflow",
            "openpyxl", "requests", "numba", "h5py", "tables");

    /** Import names where they differ from the package name. */
    private static final Map<String, String> MODULES = Map.of("scikit-learn", "sklearn", "beautifulsoup4", "bs4",
            "pillow", "PIL", "pyyaml", "yaml", "opencv-python", "cv2");

    private EngineChoice() { }

    /** Whether calls of a session under {@code p} run in the native worker. */
    public static boolean useNative(Policy p) {
        return switch (p.engine()) {
            case NATIVE -> true;
            case GRAALPY -> false;
            case AUTO -> p.packages().python().preinstalled().stream()
                    .anyMatch(n -> NATIVE_PACKAGES.contains(normalize(n)));
        };
    }

    /** Modules the worker imports while idle after start, so the first call finds them loaded. */
    static List<String> preloadModules(Policy p) {
        List<String> out = new ArrayList<>();
        for (String n : p.packages().python().preinstalled()) {
            String norm = normalize(n);
            out.add(MODULES.getOrDefault(norm, norm.replace('-', '_')));
        }
        return out;
    }

    static String normalize(String name) {
        return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
    }
}
