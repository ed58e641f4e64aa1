package dev.cordon.packages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.nativetier.EngineChoice;
import dev.cordon.nativetier.NativeConfig;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;

/**
 * Checks {@code packages.python.preinstalled} against the tier that will run the policy: each
 * package must be importable there without an install step.
 *
 * <ul>
 *   <li>In-JVM tier (GraalPy): the package must be a Debian {@code python3-*} package on this host
 *       (with the packages it requires), and must not need native code (C extensions cannot load:
 *       native access is off). {@link #check} also imports each one under GraalPy from the curated
 *       copy the sessions will use (a few seconds: {@code cordon policy check} only).</li>
 *   <li>Native tier (CPython): the host's {@code /usr/bin/python3} must find the distribution and its
 *       module ({@code importlib.metadata} and {@code importlib.util.find_spec}: nothing is
 *       imported; one process, about 30 ms, once per JVM per package set).</li>
 * </ul>
 * A missing package is an error naming it and the Debian package that provides it. Results are
 * cached per JVM.
 */
public final class PackageCheck {

    /**
     * Packages that look pure but fail to import under GraalPy 25.0.3 without native access
     * (measured on Debian 12: pyexpat, unicodedata, cryptography's Rust bindings, C helpers). Kept
     * with {@link EngineChoice#NATIVE_PACKAGES} as the known-native list.
     */
    static final Set<String> GRAALPY_FAILS = Set.of("defusedxml", "xmltodict", "sympy", "pyjwt", "fs", "openpyxl",
            "brotli", "lz4", "kiwisolver", "tables", "numexpr", "bottleneck", "contourpy", "ufolib2", "pythran",
            "numba", "llvmlite", "cryptography", "pyopenssl", "lxml", "pillow", "requests");

    /** The outcome: errors make the policy unusable as written; warnings and notes are for the user. */
    public record Report(String tier, List<String> errors, List<String> warnings, List<String> notes) {
        public Report {
            errors = List.copyOf(errors);
            warnings = List.copyOf(warnings);
            notes = List.copyOf(notes);
        }

        public boolean ok() {
            return errors.isEmpty();
        }

        /** The block {@code cordon policy check} prints. */
        public String text() {
            StringBuilder b = new StringBuilder("\n# Packages (" + tier + "): ")
                    .append(errors.isEmpty() ? "ok" : errors.size() + " error" + (errors.size() == 1 ? "" : "s"))
                    .append('\n');
            for (String e : errors) {
                b.append("error: ").append(e).append('\n');
            }
            for (String w : warnings) {
                b.append("warning: ").append(w).append('\n');
            }
            for (String n : notes) {
                b.append("note: ").append(n).append('\n');
            }
            return b.toString();
        }

        /** One message for a session that cannot start (errors only). */
        public String failure() {
            return "packages.python.preinstalled cannot be provided in the " + tier + ": " + String.join("; ", errors);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Report> QUICK = new ConcurrentHashMap<>();
    private static final Map<String, Report> FULL = new ConcurrentHashMap<>();

    private PackageCheck() { }

    /** The cheap check a session runs at start: presence on the host (cached per JVM). */
    public static Report quick(Policy p) {
        return QUICK.computeIfAbsent(key(p), k -> run(p, false));
    }

    /** The full check for {@code cordon policy check}: also imports each package under GraalPy. */
    public static Report check(Policy p) {
        return FULL.computeIfAbsent(key(p), k -> run(p, true));
    }

    private static String key(Policy p) {
        var py = p.packages().python();
        return EngineChoice.useNative(p) + "|" + py.preinstalled() + "|" + py.allowInstall() + "|"
                + p.filesystem().persistAcrossCalls() + "|" + p.filesystem().writable() + "|" + py.indexUrl();
    }

    private static Report run(Policy p, boolean full) {
        boolean nat = EngineChoice.useNative(p);
        String tier = nat ? TargetEnv.Tier.NATIVE.description : TargetEnv.Tier.GRAALPY.description;
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        var py = p.packages().python();
        if (py.allowInstall()) {
            if (!p.filesystem().persistAcrossCalls()) {
                warnings.add("packages.python.allow_install: installed packages live in the workspace ("
                        + Installer.siteDir(p) + "), which persist_across_calls: false empties before every call;"
                        + " set execution.sandbox.filesystem.persist_across_calls: true to keep them for the session");
            }
            if (!p.filesystem().writable()) {
                warnings.add("packages.python.allow_install: the workspace is read-only (filesystem.writable: false),"
                        + " so every install is refused");
            }
            if (py.indexUrl() == null) {
                warnings.add("packages.python.allow_install: no index_url, so every install is refused (Cordon never"
                        + " uses a default index)");
            }
        }
        if (!py.preinstalled().isEmpty()) {
            if (nat) {
                checkNative(py.preinstalled(), errors, notes);
            } else {
                checkGraalPy(py.preinstalled(), full, errors, notes);
            }
        }
        return new Report(tier, errors, warnings, notes);
    }

    private static String install(String name) {
        return "apt-get install -y " + DebianPackages.debianPackage(name);
    }

    // ---------------------------------------------------------------- in-JVM tier

    private static void checkGraalPy(List<String> names, boolean full, List<String> errors, List<String> notes) {
        DebianPackages deb = DebianPackages.host();
        TargetEnv env = TargetEnv.graalpy();
        List<String> usable = new ArrayList<>();
        for (String n : names) {
            if (EngineChoice.NATIVE_PACKAGES.contains(n) || GRAALPY_FAILS.contains(n)) {
                errors.add(n + " needs native code (C extensions or modules such as pyexpat) that the in-JVM GraalPy"
                        + " tier cannot load; run this policy in the native tier: execution.engine: native");
            } else {
                usable.add(n);
            }
        }
        Map<String, String> missing = new LinkedHashMap<>();
        List<DebianPackages.Dist> dists = deb.closure(usable, env, missing);
        for (Map.Entry<String, String> m : missing.entrySet()) {
            errors.add(m.getValue().isEmpty()
                    ? m.getKey() + " is not installed on this host (looked in " + deb.dir + "); install it: " + install(m.getKey())
                    : m.getKey() + " (required by " + m.getValue() + ") is not installed on this host; install it: "
                            + install(m.getKey()));
        }
        if (dists.isEmpty()) {
            return;
        }
        Path site = deb.curatedSite(dists);
        notes.add("preinstalled packages for GraalPy are copied to " + site + ": " + String.join(", ",
                dists.stream().map(d -> d.name() + " " + d.version()).toList()));
        if (!full) {
            return;
        }
        List<DebianPackages.Dist> listed = dists.stream().filter(d -> usable.contains(d.name())).toList();
        Map<String, String> failures = importUnderGraalPy(site, listed, notes);
        for (Map.Entry<String, String> f : failures.entrySet()) {
            errors.add(f.getKey() + " is installed but does not import under GraalPy (" + f.getValue() + "); run this"
                    + " policy in the native tier: execution.engine: native");
        }
    }

    /** Imports each distribution's modules in a throwaway GraalPy context; returns name -> error. */
    static Map<String, String> importUnderGraalPy(Path site, List<DebianPackages.Dist> dists, List<String> notes) {
        StringBuilder list = new StringBuilder("[");
        for (DebianPackages.Dist d : dists) {
            for (String m : d.importNames()) {
                list.append("(").append(pyStr(d.name())).append(",").append(pyStr(m)).append("),");
            }
        }
        list.append("]");
        String code = "import json, time\n"
                + "res = []\n"
                + "for dist, mod in " + list + ":\n"
                + "    t = time.perf_counter()\n"
                + "    try:\n"
                + "        __import__(mod)\n"
                + "        res.append([dist, mod, None, round((time.perf_counter() - t) * 1000)])\n"
                + "    except BaseException as e:\n"
                + "        res.append([dist, mod, type(e).__name__ + ': ' + str(e)[:300], 0])\n"
                + "json.dumps(res)\n";
        Map<String, String> failures = new LinkedHashMap<>();
        try (Context ctx = hostContext(site, FileSystem.newReadOnlyFileSystem(FileSystem.newDefaultFileSystem()))) {
            JsonNode res = JSON.readTree(ctx.eval("python", code).asString());
            List<String> times = new ArrayList<>();
            for (JsonNode r : res) {
                if (!r.get(2).isNull()) {
                    failures.putIfAbsent(r.get(0).asText(), "import " + r.get(1).asText() + ": " + r.get(2).asText());
                } else {
                    times.add(r.get(1).asText() + " " + r.get(3).asInt() + " ms");
                }
            }
            notes.add("first import under GraalPy (cold, this check's own context): " + String.join(", ", times));
        } catch (IOException | RuntimeException e) {
            failures.put("(all)", "the GraalPy import check itself failed: " + e.getMessage());
        }
        return failures;
    }

    /**
     * A GraalPy context for Cordon's own host-side work on package directories (never guest code):
     * the same access settings as the session contexts ({@code dev.cordon.graalpy.PooledContext}),
     * because contexts on the shared engine must agree on host access (GraalVM 25.0.3 fails later
     * contexts otherwise), with {@code fs} as its filesystem.
     */
    static Context hostContext(Path pythonPath, FileSystem fs) {
        return Context.newBuilder("python")
                .engine(SharedEngine.get().engine())
                .allowHostAccess(org.graalvm.polyglot.HostAccess.NONE)
                .allowHostClassLookup(n -> false)
                .allowHostClassLoading(false)
                .allowPolyglotAccess(org.graalvm.polyglot.PolyglotAccess.NONE)
                .allowEnvironmentAccess(org.graalvm.polyglot.EnvironmentAccess.NONE)
                .allowValueSharing(false)
                .allowInnerContextOptions(false)
                // Its threads count as guest threads for the tripwire: the filesystem runs inside a permit.
                .allowIO(IOAccess.newBuilder().fileSystem(dev.cordon.agent.GatePermit.fileSystem(fs)).build())
                .allowNativeAccess(false)
                .allowCreateThread(true)
                .option("python.PosixModuleBackend", "java")
                .option("python.DontWriteBytecodeFlag", "true")
                .option("python.PythonPath", pythonPath.toString())
                .out(java.io.OutputStream.nullOutputStream())
                .err(java.io.OutputStream.nullOutputStream())
                .build();
    }

    private static final java.util.concurrent.ExecutorService COMPILER = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "cordon-precompile");
                t.setDaemon(true);
                t.setPriority(Thread.MIN_PRIORITY);
                return t;
            });
    private static final Set<Path> COMPILING = ConcurrentHashMap.newKeySet();

    /**
     * Writes GraalPy bytecode caches ({@code __pycache__/*.graalpy250-312.pyc}) next to the sources
     * of a published curated copy, once, in the background: sessions run with bytecode writing off,
     * and cached bytecode makes a first import in a session faster (measured on a loaded 2-core
     * host, yaml + dateutil.parser in a fresh context on a warm engine: 361-996 ms with caches,
     * 716-1806 ms without; see docs/packages.md). Only compiles; no package code runs. Sessions that
     * start before it is done read the sources (each cache file appears atomically). Best effort.
     */
    static void precompileLater(Path dir) {
        if (Files.exists(dir.resolve(".cordon-compiled")) || !COMPILING.add(dir)) {
            return;
        }
        COMPILER.submit(() -> {
            try (Context ctx = hostContext(dir, FileSystem.newDefaultFileSystem())) {
                ctx.eval("python", "import compileall\ncompileall.compile_dir(" + pyStr(dir.toString()) + ", quiet=2)\n");
                Files.writeString(dir.resolve(".cordon-compiled"), "graalpy " + TargetEnv.GRAALPY_VERSION + "\n");
            } catch (IOException | RuntimeException e) {
                // no caches: slower first imports, nothing else
            } finally {
                COMPILING.remove(dir);
            }
        });
    }

    // ---------------------------------------------------------------- native tier

    private static void checkNative(List<String> names, List<String> errors, List<String> notes) {
        Path python = NativeConfig.fromSystemProperties().python();
        if (!Files.isExecutable(python)) {
            errors.add("the native tier's Python " + python + " is missing; install it: apt-get install -y python3");
            return;
        }
        DebianPackages deb = DebianPackages.host();
        StringBuilder list = new StringBuilder("[");
        for (String n : names) {
            DebianPackages.Dist d = deb.find(n);
            String mod = d != null && !d.importNames().isEmpty() ? d.importNames().getFirst() : DebianPackages.guessImport(n);
            list.append("(").append(pyStr(n)).append(",").append(pyStr(mod)).append("),");
        }
        list.append("]");
        String code = "import json, importlib.metadata as md, importlib.util as u\n"
                + "out = []\n"
                + "for name, mod in " + list + ":\n"
                + "    try:\n"
                + "        v = md.version(name)\n"
                + "    except Exception:\n"
                + "        v = None\n"
                + "    try:\n"
                + "        found = u.find_spec(mod) is not None\n"
                + "    except Exception:\n"
                + "        found = False\n"
                + "    out.append([name, mod, v, found])\n"
                + "print(json.dumps(out))\n";
        try {
            long t0 = System.nanoTime();
            Process proc = new ProcessBuilder(python.toString(), "-I", "-c", code).redirectErrorStream(true).start();
            byte[] out = proc.getInputStream().readNBytes(1 << 20);
            if (!proc.waitFor(30, TimeUnit.SECONDS) || proc.exitValue() != 0) {
                proc.destroyForcibly();
                errors.add("could not ask " + python + " about its packages: " + new String(out, StandardCharsets.UTF_8).strip());
                return;
            }
            List<String> found = new ArrayList<>();
            for (JsonNode r : JSON.readTree(out)) {
                String name = r.get(0).asText();
                if (r.get(2).isNull() && !r.get(3).asBoolean()) {
                    errors.add(name + " is not installed for " + python + "; install it: " + install(name));
                } else if (!r.get(3).asBoolean()) {
                    errors.add(name + " " + r.get(2).asText() + " is installed but its module " + r.get(1).asText()
                            + " is not found by " + python);
                } else {
                    found.add(name + (r.get(2).isNull() ? "" : " " + r.get(2).asText()));
                }
            }
            notes.add("found by " + python + " (" + (System.nanoTime() - t0) / 1_000_000 + " ms): " + String.join(", ", found)
                    + "; the native worker imports them before the first call");
        } catch (IOException e) {
            errors.add("could not run " + python + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            errors.add("interrupted while checking packages");
        }
    }

    /** A Python string literal (names are checked by the policy loader; quoted anyway). */
    private static String pyStr(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
