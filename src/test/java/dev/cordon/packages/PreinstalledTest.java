package dev.cordon.packages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.cli.Main;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code packages.python.preinstalled}: the Debian packages verified for the in-JVM tier import and
 * work in a real session (the test that backs docs/packages.md); the session sees only the listed
 * packages; missing ones fail {@code cordon policy check} and the session start, naming the Debian
 * package; the native tier's check asks the host CPython.
 */
class PreinstalledTest {

    /** Pulled in by python3-pandas and python3-matplotlib, which the native tier's CI installs anyway. */
    static final List<String> CORE = List.of("six", "python-dateutil", "pytz", "pyparsing", "packaging", "cycler");

    static Policy graalpy(List<String> pre) throws Exception {
        return PolicyLoader.parse("""
                execution:
                  engine: graalpy
                  sandbox:
                    packages: {python: {preinstalled: [%s]}}
                    filesystem: {persist_across_calls: true}
                """.formatted(String.join(", ", pre)), "pre");
    }

    @Test
    void verifiedPackagesWorkInTheInJvmTierAndNothingElseIsVisible(@TempDir Path root) throws Exception {
        DebianPackages deb = DebianPackages.host();
        List<String> present = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        for (String n : GraalPyPackages.VERIFIED.keySet()) {
            (deb.find(n) != null ? present : absent).add(n);
        }
        assertTrue(present.containsAll(CORE), "the core set must be on the host (python3-pandas/matplotlib pull it in): "
                + absent);
        System.out.println("[packages] verified for GraalPy and present here: " + present + "; absent here: " + absent);
        Policy p = graalpy(present);
        assertTrue(PackageCheck.quick(p).ok(), PackageCheck.quick(p)::text);
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root).poolSize(0).build();
             Session s = sb.openSession("pre")) {
            assertTrue(s.exec("x = 1").ok());
            // First import of a preinstalled package: no install step, only the import itself.
            ExecResult first = s.exec("import time\nt = time.perf_counter()\nimport yaml, dateutil.parser\n"
                    + "print(round((time.perf_counter() - t) * 1000))");
            assertTrue(first.ok(), first::toString);
            System.out.println("[packages] first import of yaml + dateutil.parser in a GraalPy session: "
                    + first.stdout().strip() + " ms (call " + first.timing().wallMs() + " ms)");
            StringBuilder code = new StringBuilder("failed = []\n");
            for (String n : present) {
                code.append("try:\n").append(GraalPyPackages.VERIFIED.get(n).indent(4))
                        .append("except BaseException as e:\n    failed.append(").append(quote(n))
                        .append(" + ': ' + repr(e))\n");
            }
            code.append("print('failed:', failed)\n");
            ExecResult all = s.exec(code.toString());
            assertEquals("failed: []\n", all.stdout(), all::toString);
            // Only the listed packages (and what they require) are visible: not the rest of dist-packages.
            ExecResult hidden = s.exec("""
                    import sys
                    for m in ('numpy', 'pip', 'setuptools'):
                        try:
                            __import__(m)
                            print('visible', m)
                        except ImportError:
                            print('hidden', m)
                    try:
                        open('/usr/lib/python3/dist-packages/six.py').read()
                        print('read dist-packages')
                    except PermissionError:
                        print('dist-packages not readable')
                    """);
            assertTrue(hidden.stdout().contains("hidden numpy") && hidden.stdout().contains("hidden pip")
                    && hidden.stdout().contains("hidden setuptools"), hidden::toString);
            assertTrue(hidden.stdout().contains("dist-packages not readable"), hidden::toString);
        }
    }

    @Test
    void theImportCheckCatchesPackagesGraalPyCannotLoad() {
        DebianPackages deb = DebianPackages.host();
        DebianPackages.Dist six = deb.find("six");
        // A C extension python3-matplotlib depends on, so present wherever the native tier's packages are.
        DebianPackages.Dist bad = deb.find("kiwisolver");
        assertTrue(six != null && bad != null, "python3-six and python3-kiwisolver are needed here");
        Path site = deb.curatedSite(List.of(six, bad));
        List<String> notes = new ArrayList<>();
        Map<String, String> failures = PackageCheck.importUnderGraalPy(site, List.of(six, bad), notes);
        assertEquals(List.of("kiwisolver"), List.copyOf(failures.keySet()), failures::toString);
        assertTrue(failures.get("kiwisolver").contains("import kiwisolver"), failures::toString);
    }

    @Test
    void missingPreinstalledPackageFailsPolicyCheckAndTheSession(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, """
                execution:
                  engine: graalpy
                  sandbox:
                    packages: {python: {preinstalled: [six, cordon-not-installed]}}
                """);
        String[] outErr = new String[2];
        int code = cli(outErr, "policy", "check", file.toString());
        assertEquals(2, code, outErr[0] + outErr[1]);
        assertTrue(outErr[0].contains("error: cordon-not-installed is not installed on this host"), outErr[0]);
        assertTrue(outErr[0].contains("apt-get install -y python3-cordon-not-installed"), outErr[0]);
        assertTrue(outErr[1].contains("packages.python.preinstalled"), outErr[1]);

        Files.writeString(file, """
                execution:
                  engine: graalpy
                  sandbox:
                    packages: {python: {preinstalled: [six, python-dateutil]}}
                """);
        assertEquals(0, cli(outErr, "policy", "check", file.toString()), outErr[0] + outErr[1]);
        assertTrue(outErr[0].contains("# Packages (in-JVM GraalPy tier): ok"), outErr[0]);
        assertTrue(outErr[0].contains("first import under GraalPy"), outErr[0]);

        Policy p = graalpy(List.of("six", "cordon-not-installed"));
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(dir.resolve("ws")).poolSize(0).build();
             Session s = sb.openSession("missing")) {
            ExecResult r = s.exec("open('/workspace/ran', 'w').write('x')");
            assertEquals(ExecResult.Status.ERROR, r.status());
            assertEquals("PackagesUnavailable", r.error().type());
            assertTrue(r.error().message().contains("python3-cordon-not-installed"), r.error()::message);
            assertFalse(Files.exists(s.workspace().resolve("ran")), "no guest code ran");
        }
    }

    @Test
    void nativeTierPreinstalledImportIsFree(@TempDir Path root) throws Exception {
        Policy p = PolicyLoader.parse("""
                execution:
                  sandbox:
                    packages: {python: {preinstalled: [pandas, numpy]}}
                """, "n");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root).poolSize(0).build();
             Session s = sb.openSession("nat")) {
            ExecResult r = s.exec("import time\nt = time.perf_counter()\nimport pandas\n"
                    + "print(round((time.perf_counter() - t) * 1000, 2))");
            assertEquals("native", r.engine());
            assertTrue(r.ok(), r::toString);
            System.out.println("[packages] native tier, first call: import pandas took " + r.stdout().strip()
                    + " ms in the guest (preloaded by the worker), call " + r.timing().wallMs() + " ms");
            assertTrue(Double.parseDouble(r.stdout().strip()) < 50, "already imported: " + r.stdout());
        }
    }

    @Test
    void nativeTierChecksWithTheHostCPython() throws Exception {
        Policy ok = PolicyLoader.parse("""
                execution:
                  engine: native
                  sandbox:
                    packages: {python: {preinstalled: [pandas, numpy, python-dateutil]}}
                """, "n");
        PackageCheck.Report r = PackageCheck.check(ok);
        assertTrue(r.ok(), r::text);
        assertTrue(r.text().contains("found by /usr/bin/python3"), r.text());
        Policy bad = PolicyLoader.parse("""
                execution:
                  sandbox:
                    packages: {python: {preinstalled: [pandas, cordon-not-installed]}}
                """, "n");
        PackageCheck.Report b = PackageCheck.check(bad);
        assertEquals("native CPython tier", b.tier(), "auto picks the native tier for pandas");
        assertEquals(1, b.errors().size(), b::text);
        assertTrue(b.errors().getFirst().contains("cordon-not-installed is not installed for /usr/bin/python3; install it:"
                + " apt-get install -y python3-cordon-not-installed"), b::text);
        Policy wrongTier = PolicyLoader.parse("""
                execution:
                  engine: graalpy
                  sandbox:
                    packages: {python: {preinstalled: [numpy]}}
                """, "n");
        assertTrue(PackageCheck.quick(wrongTier).errors().getFirst().contains("execution.engine: native"),
                PackageCheck.quick(wrongTier)::text);
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "\\'") + "'";
    }

    private static synchronized int cli(String[] outErr, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            int code = Main.run(args);
            outErr[0] = out.toString(StandardCharsets.UTF_8);
            outErr[1] = err.toString(StandardCharsets.UTF_8);
            return code;
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
