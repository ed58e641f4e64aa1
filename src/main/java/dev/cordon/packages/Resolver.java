package dev.cordon.packages;

import dev.cordon.decision.Decision;
import dev.cordon.decision.InstallDecisions;
import dev.cordon.policy.PackagesPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Picks one wheel per distribution for an install, reading dependencies from core metadata.
 *
 * <p>The order of checks is the point: a name is compared with {@code approved_packages}
 * <em>before</em> anything is fetched for it, so the index never sees a request for a package the
 * policy does not approve, and the install as a whole is refused when any dependency is missing
 * from the list (every missing one is named, with what needed it). Metadata comes from the
 * index's PEP 658 {@code .metadata} files when it offers them, so the wheels themselves are only
 * downloaded once the whole set is known to be allowed; otherwise the wheel is downloaded (to a
 * host-private temp file) to read its {@code METADATA}.
 *
 * <p>Resolution is greedy without backtracking (the newest compatible version of each name, first
 * requirement first); a later requirement that excludes an already picked version ends the
 * install with a conflict message. Environment markers are evaluated for the target interpreter
 * ({@link TargetEnv}), {@code extra == "x"} only for the extras that were asked for.
 */
final class Resolver {

    /** A distribution to install: the wheel picked, its metadata, the file when already downloaded. */
    static final class Pick {
        final String name;
        final Pep440.Version version;
        final SimpleIndex.FileLink link;
        final TargetEnv.WheelName wheel;
        final CoreMetadata metadata;
        final Set<String> extras = new LinkedHashSet<>();
        final String requiredBy;
        Path file;
        String sha256;
        /** The installed copy this replaces (upgrade), or null. */
        SiteDir.Installed replaces;

        Pick(String name, Pep440.Version version, SimpleIndex.FileLink link, TargetEnv.WheelName wheel,
                CoreMetadata metadata, String requiredBy) {
            this.name = name;
            this.version = version;
            this.link = link;
            this.wheel = wheel;
            this.metadata = metadata;
            this.requiredBy = requiredBy;
        }
    }

    /** The outcome: picks to install (dependencies first), or a refusal / an error message. */
    record Result(List<Pick> picks, Decision.Deny denied, String error) { }

    /** How the resolution went, line by line, as pip would print it. */
    interface Log {
        void info(String line);
    }

    private final SimpleIndex index;
    private final TargetEnv env;
    private final PackagesPolicy.Python policy;
    private final Map<String, SiteDir.Installed> installed;
    private final Function<String, DebianPackages.Dist> system;
    private final Path downloads;
    private final long maxDownload;
    private final Log log;

    Resolver(SimpleIndex index, TargetEnv env, PackagesPolicy.Python policy, Map<String, SiteDir.Installed> installed,
            Function<String, DebianPackages.Dist> system, Path downloads, long maxDownload, Log log) {
        this.index = index;
        this.env = env;
        this.policy = policy;
        this.installed = installed;
        this.system = system;
        this.downloads = downloads;
        this.maxDownload = maxDownload;
        this.log = log;
    }

    private record Want(Pep508.Requirement req, String requiredBy) { }

    Result resolve(List<Pep508.Requirement> roots, boolean upgrade, boolean force, boolean pre, boolean noDeps,
            String requested) throws IOException, InterruptedException {
        Deque<Want> queue = new ArrayDeque<>();
        for (Pep508.Requirement r : roots) {
            queue.add(new Want(r, null));
        }
        Map<String, Pep440.SpecifierSet> constraints = new HashMap<>();
        Map<String, Pick> picked = new LinkedHashMap<>();
        Set<String> satisfied = new LinkedHashSet<>();
        Map<String, String> missing = new LinkedHashMap<>();
        Map<String, String> firstBy = new HashMap<>();
        while (!queue.isEmpty()) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            Want w = queue.poll();
            Pep508.Requirement req = w.req();
            String name = req.normalized();
            boolean root = w.requiredBy() == null;
            Pep440.SpecifierSet spec = constraints.getOrDefault(name, Pep440.SpecifierSet.ANY).and(req.specifier());
            constraints.put(name, spec);
            firstBy.putIfAbsent(name, w.requiredBy() == null ? "the command line" : w.requiredBy());
            Pick p = picked.get(name);
            if (p != null) {
                if (!spec.contains(p.version)) {
                    return new Result(null, null, "Cannot install " + requested + " because these package versions have"
                            + " conflicting dependencies: " + name + " " + p.version + " was picked for "
                            + firstBy.get(name) + ", but " + (root ? "the command line" : w.requiredBy())
                            + " requires " + req.text());
                }
                Set<String> newExtras = new LinkedHashSet<>(req.extras());
                newExtras.removeAll(p.extras);
                if (!newExtras.isEmpty() && !noDeps) {
                    p.extras.addAll(newExtras);
                    enqueueDeps(queue, p.metadata, p.name + "==" + p.version, newExtras, false);
                }
                continue;
            }
            if (satisfied.contains(name) || missing.containsKey(name)) {
                continue;
            }
            SiteDir.Installed inst = installed.get(name);
            if (inst != null && spec.contains(inst.version()) && !(root && (upgrade || force))) {
                log.info("Requirement already satisfied: " + req.text() + " in " + "the session's site directory ("
                        + inst.version() + ")");
                satisfied.add(name);
                if (!noDeps && !req.extras().isEmpty()) {
                    enqueueDeps(queue, inst.metadata(), name + "==" + inst.version(), req.extras(), false);
                }
                continue;
            }
            DebianPackages.Dist sys = system.apply(name);
            if (sys != null && !(root && (upgrade || force))) {
                Pep440.Version sv = Pep440.Version.tryParse(sys.version());
                if (sv == null || spec.contains(sv)) {
                    log.info("Requirement already satisfied: " + req.text() + " in the host's packages ("
                            + sys.version() + ")");
                    satisfied.add(name);
                    continue;
                }
            }
            if (!InstallDecisions.approved(policy, name)) {
                // Refused without any request for it: the install fails below, after all names are known.
                missing.put(name, root ? "the command line" : w.requiredBy());
                continue;
            }
            log.info("Collecting " + req.text() + (root ? "" : " (from " + w.requiredBy() + ")"));
            List<SimpleIndex.FileLink> files;
            try {
                files = index.project(name);
            } catch (SimpleIndex.IndexException e) {
                return new Result(null, null, e.notFound ? "Could not find a version that satisfies the requirement "
                        + req.text() + " (from versions: none)\nERROR: " + e.getMessage() : e.getMessage());
            }
            Candidate c = choose(name, files, spec, pre || spec.mentionsPrerelease(), req);
            if (c.deny != null) {
                return new Result(null, c.deny, null);
            }
            if (c.link == null) {
                return new Result(null, null, "Could not find a version that satisfies the requirement " + req.text()
                        + " (from versions: " + c.versionsSeen + ")\nERROR: No matching distribution found for "
                        + req.text());
            }
            CoreMetadata md;
            Path file = null;
            String sha = null;
            if (c.link.hasMetadata()) {
                md = CoreMetadata.parse(index.metadata(c.link));
            } else {
                file = Files.createTempFile(downloads, "wheel-", ".whl");
                log.info("  Downloading " + c.link.url() + (c.link.sha256() == null ? "" : ""));
                sha = index.download(c.link, file, maxDownload);
                try (WheelArchive wa = WheelArchive.open(file, c.wheel)) {
                    md = wa.metadata;
                }
            }
            if (!md.normalizedName().equals(name) || Pep440.Version.tryParse(md.version()) == null
                    || Pep440.Version.parse(md.version()).compareTo(c.version) != 0) {
                return new Result(null, null, c.link.filename() + ": its metadata says " + md.name() + " " + md.version());
            }
            if (!env.pythonOk(md.requiresPython())) {
                return new Result(null, null, "Package '" + name + "' requires a different Python: "
                        + env.markers.get("python_full_version") + " not in '" + md.requiresPython() + "'");
            }
            Pick pick = new Pick(name, c.version, c.link, c.wheel, md, root ? null : w.requiredBy());
            pick.extras.addAll(req.extras());
            pick.file = file;
            pick.sha256 = sha;
            pick.replaces = inst;
            picked.put(name, pick);
            if (!noDeps) {
                enqueueDeps(queue, md, name + "==" + c.version, req.extras(), true);
            }
        }
        if (!missing.isEmpty()) {
            Decision d = InstallDecisions.decideDependencies(policy, missing, requested);
            if (d instanceof Decision.Deny deny) {
                return new Result(null, deny, null);
            }
        }
        List<Pick> order = new ArrayList<>(picked.values());
        java.util.Collections.reverse(order); // dependencies were discovered after what needs them
        return new Result(order, null, null);
    }

    private void enqueueDeps(Deque<Want> queue, CoreMetadata md, String by, Set<String> extras, boolean base) {
        for (String rd : md.requiresDist()) {
            Pep508.Requirement r;
            try {
                r = Pep508.parse(rd);
            } catch (IllegalArgumentException e) {
                continue; // pip skips what it cannot parse as well, with a warning
            }
            boolean applies = base && r.applies(env.markers, "");
            for (String x : extras) {
                applies |= r.applies(env.markers, x);
            }
            if (applies) {
                if (r.url() != null) {
                    continue; // direct references in dependencies are never followed (only index_url)
                }
                queue.add(new Want(r, by));
            }
        }
    }

    private static final class Candidate {
        SimpleIndex.FileLink link;
        TargetEnv.WheelName wheel;
        Pep440.Version version;
        Decision.Deny deny;
        String versionsSeen = "none";
    }

    private Candidate choose(String name, List<SimpleIndex.FileLink> files, Pep440.SpecifierSet spec, boolean pre,
            Pep508.Requirement req) {
        record Option(SimpleIndex.FileLink link, TargetEnv.WheelName wheel, Pep440.Version version, int rank) { }
        List<Option> wheels = new ArrayList<>();
        Set<String> versions = new LinkedHashSet<>();
        boolean sdistMatches = false;
        boolean wheelOtherTier = false;
        boolean pinned = spec.specs().stream().anyMatch(s -> s.op().equals("==") || s.op().equals("==="));
        for (SimpleIndex.FileLink f : files) {
            TargetEnv.WheelName wn = TargetEnv.WheelName.parse(f.filename());
            Pep440.Version v = wn == null ? sdistVersion(name, f.filename()) : Pep440.Version.tryParse(wn.version());
            if (v == null || wn != null && !wn.normalizedName().equals(name)) {
                continue;
            }
            if (f.yanked() && !pinned) {
                continue;
            }
            if (!spec.contains(v) || !env.pythonOk(f.requiresPython())) {
                continue;
            }
            versions.add(v.toString());
            if (wn == null) {
                sdistMatches = true;
                continue;
            }
            int rank = env.rank(wn);
            if (rank < 0) {
                wheelOtherTier = true;
                continue;
            }
            wheels.add(new Option(f, wn, v, rank));
        }
        Candidate c = new Candidate();
        c.versionsSeen = versions.isEmpty() ? "none" : String.join(", ", versions);
        List<Option> finals = wheels.stream().filter(o -> !o.version.isPrerelease()).toList();
        List<Option> pool = pre || finals.isEmpty() ? wheels : finals;
        Option best = pool.stream().max(Comparator.comparing(Option::version)
                .thenComparing(Comparator.comparingInt(Option::rank).reversed())).orElse(null);
        if (best == null) {
            if (sdistMatches || wheelOtherTier) {
                c.deny = InstallDecisions.noWheel(name, null, env.tier.description,
                        "no wheel of " + req.text() + " on the index can be installed in the " + env.describe()
                                + (sdistMatches ? "; it has only a source distribution, and Cordon never builds one"
                                : "; its wheels are for other interpreters or platforms"));
            }
            return c;
        }
        c.link = best.link;
        c.wheel = best.wheel;
        c.version = best.version;
        return c;
    }

    /** The version in {@code name-1.0.tar.gz} / {@code .zip}, or null. */
    static Pep440.Version sdistVersion(String name, String fn) {
        String base;
        if (fn.endsWith(".tar.gz")) {
            base = fn.substring(0, fn.length() - 7);
        } else if (fn.endsWith(".zip") || fn.endsWith(".tgz")) {
            base = fn.substring(0, fn.length() - 4);
        } else {
            return null;
        }
        int dash = base.lastIndexOf('-');
        if (dash <= 0 || !InstallDecisions.normalize(base.substring(0, dash)).equals(name)) {
            return null;
        }
        return Pep440.Version.tryParse(base.substring(dash + 1));
    }
}
