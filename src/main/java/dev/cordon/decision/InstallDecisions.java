package dev.cordon.decision;

import dev.cordon.policy.PackagesPolicy;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The packages decision: may guest code install these packages? A pure function of
 * {@code execution.sandbox.packages.python}; Cordon's installer ({@code dev.cordon.packages}) only
 * applies the answers.
 *
 * <p>Rules, in order:
 * <ol>
 *   <li>{@code allow_install: false} refuses every install (rule {@code packages.python.allow_install}).</li>
 *   <li>Without {@code index_url} there is nowhere to install from: Cordon never falls back to a
 *       default index (rule {@code packages.python.index_url}).</li>
 *   <li>Every name, requested or needed as a dependency, compared after PEP 503 normalisation
 *       ({@code Foo_Bar} is {@code foo-bar}), must be in {@code approved_packages} (rule
 *       {@code packages.python.approved_packages}); an empty list approves every name (the loader
 *       warns about that). A refusal lists every missing name at once, with the package that
 *       needed it.</li>
 *   <li>Packages come only from {@code index_url}: another index, a URL, a local path, a VCS
 *       checkout or an editable install is refused (rule {@code packages.python.index_url}).</li>
 * </ol>
 */
public final class InstallDecisions {

    private static final Pattern SEPARATORS = Pattern.compile("[-_.]+");

    private InstallDecisions() { }

    /** PEP 503 normalisation: lower case, runs of {@code - _ .} become one {@code -}. */
    public static String normalize(String name) {
        return SEPARATORS.matcher(name.toLowerCase(Locale.ROOT)).replaceAll("-");
    }

    /** Whether {@code name} (any spelling) is approved under {@code p}. */
    public static boolean approved(PackagesPolicy.Python p, String name) {
        return p.approvedPackages().isEmpty() || p.approvedPackages().contains(normalize(name));
    }

    /**
     * Whether guest code may install anything at all.
     *
     * @param what the install as the guest asked for it (for the message), e.g. {@code "plotly"}
     */
    public static Decision mayInstall(PackagesPolicy.Python p, String what) {
        if (!p.allowInstall()) {
            return new Decision.Deny(Decision.Category.PACKAGES, "install", what, "packages.python.allow_install",
                    "this policy allows no package installs at run time",
                    "execution.sandbox.packages.python: {allow_install: true, approved_packages: "
                            + yamlList(p.approvedPackages(), names(what)) + ", index_url: \"https://your.index/simple/\"}"
                            + "; or, for zero install time, add the package to preinstalled (from the host's"
                            + " python3-* packages)");
        }
        if (p.indexUrl() == null) {
            return new Decision.Deny(Decision.Category.PACKAGES, "install", what, "packages.python.index_url",
                    "no index_url is set, and Cordon installs only from the index the policy names",
                    "execution.sandbox.packages.python.index_url: \"https://your.index/simple/\" (a PEP 503 simple index)");
        }
        return Decision.allow("packages.python.allow_install");
    }

    /** The names guest code asked for: every one must be approved. Nothing is fetched for a refused install. */
    public static Decision decideRequested(PackagesPolicy.Python p, Collection<String> names) {
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            if (!approved(p, n) && !missing.contains(normalize(n))) {
                missing.add(normalize(n));
            }
        }
        if (missing.isEmpty()) {
            return Decision.allow("packages.python.approved_packages");
        }
        return new Decision.Deny(Decision.Category.PACKAGES, "install", String.join(", ", missing),
                "packages.python.approved_packages",
                (missing.size() == 1 ? missing.getFirst() + " is" : String.join(", ", missing) + " are")
                        + " not in approved_packages" + approvedNow(p),
                "execution.sandbox.packages.python.approved_packages: " + yamlList(p.approvedPackages(), missing));
    }

    /**
     * Dependencies the resolver found that are not approved; the install as a whole is refused.
     *
     * @param requiredBy dependency name (normalised) -> the package that requires it, in discovery order
     * @param requested  what guest code asked for (for the message)
     */
    public static Decision decideDependencies(PackagesPolicy.Python p, Map<String, String> requiredBy, String requested) {
        List<String> missing = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (Map.Entry<String, String> e : requiredBy.entrySet()) {
            if (!approved(p, e.getKey())) {
                missing.add(normalize(e.getKey()));
                why.add(normalize(e.getKey()) + " (required by " + e.getValue() + ")");
            }
        }
        if (missing.isEmpty()) {
            return Decision.allow("packages.python.approved_packages");
        }
        return new Decision.Deny(Decision.Category.PACKAGES, "install", requested, "packages.python.approved_packages",
                "the install needs " + String.join(", ", why) + ", not in approved_packages" + approvedNow(p)
                        + "; nothing was installed and nothing was fetched for "
                        + (missing.size() == 1 ? "it" : "them"),
                "execution.sandbox.packages.python.approved_packages: " + yamlList(p.approvedPackages(), missing));
    }

    /**
     * A package source other than {@code index_url}: {@code --index-url}, {@code --extra-index-url},
     * {@code --find-links}, a URL, a path, a VCS checkout, an editable install, a wheel file.
     *
     * @param what   e.g. {@code "--index-url http://10.0.0.5/simple"} or {@code "git+https://..."}
     */
    public static Decision.Deny otherSource(PackagesPolicy.Python p, String what) {
        String index = p.indexUrl() == null ? "index_url" : redact(p.indexUrl());
        return new Decision.Deny(Decision.Category.PACKAGES, "install", what, "packages.python.index_url",
                "packages are installed only by name from " + index + "; other indexes, URLs, local paths, VCS"
                        + " checkouts and editable installs are refused",
                "install by name (pip install NAME) after publishing the package on " + index
                        + " and listing it in execution.sandbox.packages.python.approved_packages");
    }

    /** A pip subcommand or option Cordon's installer does not serve. */
    public static Decision.Deny unsupported(String what, String why) {
        return new Decision.Deny(Decision.Category.PACKAGES, "pip", what, "packages.python.allow_install", why,
                "use pip install NAME ... (Cordon's installer serves install, list, freeze, show and --version;"
                        + " no pip program runs in the sandbox)");
    }

    /** No installable wheel (only a source distribution, or wheels for other interpreters). */
    public static Decision.Deny noWheel(String name, String version, String tier, String why) {
        return new Decision.Deny(Decision.Category.PACKAGES, "install", version == null ? name : name + "==" + version,
                "packages.python.index_url", why,
                "publish a wheel of " + name + " that the " + tier + " can load (a pure py3-none-any wheel works in"
                        + " both tiers) on the index; source distributions are never built");
    }

    /** The files would not fit under {@code filesystem.max_size_mb}. */
    public static Decision.Deny quota(String what, long needBytes, long usedBytes, long maxMb) {
        long needMb = (usedBytes + needBytes + (1 << 20) - 1) >> 20;
        return new Decision.Deny(Decision.Category.PACKAGES, "install", what, "filesystem.max_size_mb",
                "installing needs " + kb(needBytes) + " in the workspace, which already holds " + kb(usedBytes)
                        + " of the " + maxMb + " MB allowed; nothing was written",
                "delete files in the workspace, or raise execution.sandbox.filesystem.max_size_mb to "
                        + Math.max(maxMb * 2, needMb + 1));
    }

    /** A read-only workspace cannot hold installed packages. */
    public static Decision.Deny readOnlyWorkspace(String what) {
        return new Decision.Deny(Decision.Category.PACKAGES, "install", what, "filesystem.writable",
                "installed packages live in the workspace, which this policy makes read-only",
                "execution.sandbox.filesystem.writable: true; or add the package to preinstalled");
    }

    /** The URL without its user-info: credentials in index_url never reach guest code or logs. */
    public static String redact(URI u) {
        if (u == null) {
            return "none";
        }
        if (u.getRawUserInfo() == null) {
            return u.toString();
        }
        try {
            return new URI(u.getScheme(), "***", u.getHost(), u.getPort(), u.getPath(), null, null).toString();
        } catch (java.net.URISyntaxException e) {
            return u.getScheme() + "://" + u.getHost();
        }
    }

    /** Same origin (scheme, host, port) as the index: the only place the installer fetches from. */
    public static boolean sameOrigin(URI index, URI u) {
        if (index == null || u == null || u.getScheme() == null || u.getHost() == null) {
            return false;
        }
        return index.getScheme().equalsIgnoreCase(u.getScheme()) && index.getHost().equalsIgnoreCase(u.getHost())
                && port(index) == port(u);
    }

    private static int port(URI u) {
        if (u.getPort() >= 0) {
            return u.getPort();
        }
        return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private static String approvedNow(PackagesPolicy.Python p) {
        return p.approvedPackages().isEmpty() ? "" : " (approved: " + String.join(", ", p.approvedPackages()) + ")";
    }

    private static List<String> names(String what) {
        List<String> out = new ArrayList<>();
        for (String s : what.split("[,\\s]+")) {
            if (!s.isEmpty() && !s.startsWith("-")) {
                out.add(normalize(s.split("[\\[=<>!~;@ ]")[0]));
            }
        }
        return out;
    }

    private static String yamlList(List<String> existing, List<String> more) {
        Set<String> all = new LinkedHashSet<>(existing);
        all.addAll(more);
        return "[" + String.join(", ", all) + "]";
    }

    private static String kb(long bytes) {
        return bytes < 10 * 1024 ? bytes + " bytes" : bytes < 10L << 20 ? (bytes >> 10) + " KB" : (bytes >> 20) + " MB";
    }
}
