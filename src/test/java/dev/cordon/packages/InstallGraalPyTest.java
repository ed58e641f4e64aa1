package dev.cordon.packages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pip in the in-JVM (GraalPy) tier, through the public API, against a PEP 503 index the test serves
 * on loopback. Effects are checked from outside: the index's access log, the files on the host,
 * the result's blocked list and notices.
 */
class InstallGraalPyTest {

    static TestIndex index;
    @TempDir
    static Path root;

    @BeforeAll
    static void serve() throws IOException {
        index = new TestIndex();
        index.add(TestIndex.pureWheel("cordon-beta", "1.0", "cordon_beta", "def base():\n    return 'beta'\n", List.of()));
        index.add(TestIndex.pureWheel("cordon-alpha", "1.0", "cordon_alpha",
                "import cordon_beta\ndef hello():\n    return 'alpha 1.0 on ' + cordon_beta.base()\n",
                List.of("cordon-beta>=1.0", "cordon-never ; python_version < '3.0'",
                        "cordon-extra-only ; extra == 'fancy'")));
        index.add(TestIndex.pureWheel("cordon-gamma", "1.0", "cordon_gamma", "X = 1\n", List.of()));
        // 3 MB of zeros: a tiny wheel that unpacks to more than a 2 MB workspace may hold.
        index.add(TestIndex.wheel("cordon-big", "1.0", Map.of("cordon_big/__init__.py", "X = 1\n".getBytes(),
                "cordon_big/blob.bin", new byte[3 << 20]), List.of(), "py3-none-any"));
        index.add(TestIndex.wheel("cordon-native", "1.0", Map.of("cordon_native/__init__.py", new byte[0]), List.of(),
                "cp311-cp311-manylinux_2_17_x86_64"));
        index.addSdist("cordon-sdist", "cordon_sdist-1.0.tar.gz");
    }

    @AfterAll
    static void stop() {
        index.close();
    }

    static Policy policy(String packages, String extra) throws Exception {
        return policy(packages, extra, 8);
    }

    static Policy policy(String packages, String extra, int mb) throws Exception {
        return PolicyLoader.parse("""
                execution:
                  engine: graalpy
                  sandbox:
                    packages:
                      python:
                %s
                    filesystem: {persist_across_calls: true, max_size_mb: %d}
                %s
                """.formatted(packages.indent(8).stripTrailing(), mb, extra.indent(4).stripTrailing()), "test");
    }

    static String approved(String... names) {
        return "allow_install: true\napproved_packages: [" + String.join(", ", names) + "]\nindex_url: \"" + index.url() + "\"";
    }

    /** Every file under the workspace with its content, for before/after comparisons. */
    static Map<String, String> snapshot(Path ws) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(ws)) {
            for (Path p : s.toList()) {
                out.put(ws.relativize(p).toString(), Files.isRegularFile(p) ? TestIndex.sha(Files.readAllBytes(p)) : "dir");
            }
        }
        return out;
    }

    @Test
    void approvedPackageWithItsDependencyInstallsAndImportsInTheNextStatement() throws Exception {
        index.log.clear();
        // subprocess allowed, as an agent policy would have it: pip still never runs as a process.
        Policy p = policy(approved("cordon-alpha", "cordon-beta"), """
                subprocess: {allow: true, allowed_commands: [python3]}""");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("ok")).poolSize(0).build();
             Session s = sb.openSession("ok")) {
            ExecResult r = s.exec("""
                    import subprocess
                    r = subprocess.run(['pip', 'install', 'Cordon_Alpha'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    print('rc', r.returncode)
                    print(r.stdout)
                    import cordon_alpha
                    print(cordon_alpha.hello())
                    """);
            assertEquals(ExecResult.Status.OK, r.status(), r::toString);
            assertTrue(r.stdout().contains("rc 0"), r.stdout());
            assertTrue(r.stdout().contains("Successfully installed cordon-beta-1.0 cordon-alpha-1.0"), r.stdout());
            assertTrue(r.stdout().contains("alpha 1.0 on beta"), r.stdout());
            System.out.println("[packages] GraalPy tier, install of 2 packages: " + r.notices() + ", call " + r.timing());
            assertTrue(r.notices().stream().anyMatch(n -> n.matches(
                    "pip install Cordon_Alpha: installed cordon-beta-1.0, cordon-alpha-1.0 in \\d+ ms .*")), r.notices()::toString);
            Path site = s.workspace().resolve(".cordon/site-packages");
            assertTrue(Files.isRegularFile(site.resolve("cordon_alpha/__init__.py")));
            assertTrue(Files.isRegularFile(site.resolve("cordon_beta-1.0.dist-info/RECORD")));
            assertEquals("cordon\n", Files.readString(site.resolve("cordon_alpha-1.0.dist-info/INSTALLER")));
            assertTrue(index.requestsFor("cordon-never").isEmpty(), "a marker for Python 2 is false: " + index.log);
            assertTrue(index.requestsFor("cordon-extra-only").isEmpty(), "an extra nobody asked for: " + index.log);
            // PEP 658 metadata first, wheels only after the whole set was allowed.
            assertEquals(List.of("GET /simple/cordon-alpha/", "GET /files/cordon_alpha-1.0-py3-none-any.whl.metadata",
                    "GET /simple/cordon-beta/", "GET /files/cordon_beta-1.0-py3-none-any.whl.metadata"),
                    index.log.subList(0, 4));
            // The next call: still importable, and pip knows it is installed (no index request).
            index.log.clear();
            ExecResult again = s.exec("""
                    import os, cordon_alpha
                    print(cordon_alpha.hello())
                    print(os.system('pip install cordon-alpha'))
                    """);
            assertTrue(again.stdout().contains("alpha 1.0 on beta"), again::toString);
            assertTrue(again.stdout().contains("Requirement already satisfied: cordon-alpha"), again::toString);
            assertTrue(index.log.isEmpty(), index.log::toString);
        }
    }

    @Test
    void upgradesFromARequirementsFileReplaceTheOldFiles() throws Exception {
        try (TestIndex idx = new TestIndex()) {
            idx.json = true;
            idx.add(TestIndex.wheel("cordon-delta", "1.0", Map.of("cordon_delta/__init__.py", "V = 1\n".getBytes(),
                    "cordon_delta/old_only.py", "X = 1\n".getBytes()), List.of(), "py3-none-any"));
            Policy p = PolicyLoader.parse("""
                    execution:
                      engine: graalpy
                      sandbox:
                        packages: {python: {allow_install: true, approved_packages: [cordon-delta], index_url: "%s"}}
                        filesystem: {persist_across_calls: true}
                    """.formatted(idx.url()), "up");
            try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("up")).poolSize(0).build();
                 Session s = sb.openSession("up")) {
                ExecResult r = s.exec("""
                        import subprocess, sys
                        with open('/workspace/requirements.txt', 'w') as f:
                            f.write('cordon-delta>=1.0  # a comment\\n')
                        r = subprocess.run(['pip', 'install', '-r', 'requirements.txt'], stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
                        print('rc', r.returncode, r.stdout)
                        import cordon_delta
                        print('V', cordon_delta.V)
                        """);
                assertTrue(r.stdout().contains("V 1"), r::toString);
                Path site = s.workspace().resolve(".cordon/site-packages");
                assertTrue(Files.isRegularFile(site.resolve("cordon_delta/old_only.py")));
                idx.add(TestIndex.wheel("cordon-delta", "2.0", Map.of("cordon_delta/__init__.py", "V = 2\n".getBytes()),
                        List.of(), "py3-none-any"));
                ExecResult up = s.exec("""
                        import subprocess
                        r = subprocess.run(['pip', 'install', '-U', 'cordon-delta'], stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
                        print('rc', r.returncode, r.stdout)
                        r = subprocess.run(['pip', 'list'], stdout=subprocess.PIPE, text=True)
                        print(r.stdout)
                        """);
                assertTrue(up.stdout().contains("Successfully installed cordon-delta-2.0"), up::toString);
                assertTrue(up.stdout().contains("cordon-delta 2.0"), up::toString);
                assertEquals("V = 2\n", Files.readString(site.resolve("cordon_delta/__init__.py")));
                assertFalse(Files.exists(site.resolve("cordon_delta/old_only.py")), "the old version's files are gone");
                assertFalse(Files.exists(site.resolve("cordon_delta-1.0.dist-info")));
                try (Stream<Path> left = Files.list(site.getParent())) {
                    assertEquals(List.of("site-packages"), left.map(x -> x.getFileName().toString()).toList(),
                            "no staging directory left behind");
                }
            }
        }
    }

    @Test
    void aTamperedWheelIsRefusedAndLeavesNothingBehind() throws Exception {
        try (TestIndex idx = new TestIndex()) {
            // b.py holds other bytes than RECORD says (altered after the wheel was built); a.py and
            // __init__.py come first and are staged before the mismatch is found.
            idx.metadata = false;
            idx.add(TestIndex.wheel("cordon-eps", "1.0", new java.util.TreeMap<>(Map.of("cordon_eps/__init__.py",
                    "A = 1\n".getBytes(), "cordon_eps/a.py", "A = 1\n".getBytes(), "cordon_eps/b.py", "B = 1\n".getBytes())),
                    List.of(), "py3-none-any", Map.of("cordon_eps/b.py", "import os; os.system('evil')\n".getBytes())));
            Policy p = PolicyLoader.parse("""
                    execution:
                      engine: graalpy
                      sandbox:
                        packages: {python: {allow_install: true, approved_packages: [cordon-eps], index_url: "%s"}}
                        filesystem: {persist_across_calls: true}
                    """.formatted(idx.url()), "eps");
            try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("eps")).poolSize(0).build();
                 Session s = sb.openSession("eps")) {
                Map<String, String> before = snapshot(s.workspace());
                ExecResult r = s.exec("""
                        import subprocess
                        r = subprocess.run(['pip', 'install', 'cordon-eps'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)
                        print('rc', r.returncode, r.stdout)
                        """);
                assertTrue(r.stdout().contains("rc 1"), r::toString);
                assertTrue(r.stdout().contains("cordon_eps/b.py does not match its RECORD hash"), r::toString);
                assertEquals(before, snapshot(s.workspace()), "the workspace is as it was");
            }
        }
    }

    @Test
    void indexCredentialsAreSentToTheIndexOnlyAndNeverShownToTheGuest() throws Exception {
        index.log.clear();
        index.auth.clear();
        String url = index.url().replace("http://", "http://cordon:s3cret-token@");
        Policy p = policy("allow_install: true\napproved_packages: [cordon-gamma]\nindex_url: \"" + url + "\"", "");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("cred")).poolSize(0).build();
             Session s = sb.openSession("cred")) {
            ExecResult r = s.exec("""
                    import subprocess
                    for argv in (['pip', 'install', 'cordon-gamma'], ['pip', 'install', '-i', 'http://x/simple', 'y'],
                                 ['pip', '--version']):
                        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                        print(r.stdout)
                    """);
            assertTrue(r.stdout().contains("Successfully installed cordon-gamma-1.0"), r::toString);
            assertFalse(r.toString().contains("s3cret"), r::toString);
            assertTrue(r.stdout().contains("http://***@127.0.0.1:"), r.stdout());
            String basic = "Basic " + java.util.Base64.getEncoder().encodeToString("cordon:s3cret-token".getBytes());
            assertFalse(index.auth.isEmpty());
            assertTrue(index.auth.stream().allMatch(basic::equals), index.auth::toString);
        }
    }

    @Test
    void notApprovedNameIsRefusedWithoutAnyRequest() throws Exception {
        index.log.clear();
        Policy p = policy(approved("cordon-alpha", "cordon-beta"), "");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("no")).poolSize(0).build();
             Session s = sb.openSession("no")) {
            Map<String, String> before = snapshot(s.workspace());
            ExecResult r = s.exec("""
                    import subprocess, sys
                    r = subprocess.run([sys.executable if False else 'pip3', 'install', 'cordon-gamma', 'cordon-alpha'],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    print('rc', r.returncode)
                    print(r.stdout)
                    """);
            assertTrue(r.stdout().contains("rc 1"), r::toString);
            assertTrue(r.stdout().contains("Cordon blocked package install cordon-gamma: cordon-gamma is not in"
                    + " approved_packages (approved: cordon-alpha, cordon-beta) (policy rule"
                    + " packages.python.approved_packages). To allow it: execution.sandbox.packages.python.approved_packages:"
                    + " [cordon-alpha, cordon-beta, cordon-gamma]"), r.stdout());
            assertEquals(1, r.blocked().size(), r.blocked()::toString);
            assertEquals("packages.python.approved_packages", r.blocked().getFirst().policy());
            assertTrue(index.log.isEmpty(), "nothing fetched, not even the approved name: " + index.log);
            assertEquals(before, snapshot(s.workspace()));
        }
    }

    @Test
    void notApprovedDependencyRefusesTheWholeInstallAndIsNeverFetched() throws Exception {
        index.log.clear();
        Policy p = policy(approved("cordon-alpha"), "");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("dep")).poolSize(0).build();
             Session s = sb.openSession("dep")) {
            Map<String, String> before = snapshot(s.workspace());
            ExecResult r = s.exec("""
                    import subprocess
                    r = subprocess.run(['python3', '-m', 'pip', 'install', 'cordon-alpha'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    print('rc', r.returncode, r.stdout)
                    """);
            assertTrue(r.stdout().contains("rc 1"), r::toString);
            assertTrue(r.stdout().contains("the install needs cordon-beta (required by cordon-alpha==1.0), not in"
                    + " approved_packages"), r.stdout());
            assertTrue(r.stdout().contains("approved_packages: [cordon-alpha, cordon-beta]"), r.stdout());
            assertTrue(index.requestsFor("beta").isEmpty(), "nothing fetched for the missing dependency: " + index.log);
            assertTrue(index.requestsFor(".whl").stream().noneMatch(l -> !l.endsWith(".metadata")),
                    "no wheel downloaded: " + index.log);
            assertEquals(before, snapshot(s.workspace()), "nothing written");
            assertEquals("packages.python.approved_packages", r.blocked().getFirst().policy());
        }
    }

    @Test
    void anotherIndexIsRefusedWithZeroRequestsThere() throws Exception {
        index.log.clear();
        Policy p = policy(approved("cordon-alpha", "cordon-beta"), "");
        try (TestIndex other = new TestIndex();
             Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("idx")).poolSize(0).build();
             Session s = sb.openSession("idx")) {
            other.add(TestIndex.pureWheel("cordon-alpha", "9.0", "cordon_alpha", "EVIL = 1\n", List.of()));
            ExecResult r = s.exec("""
                    import subprocess
                    for argv in (['pip', 'install', '-i', '%1$s', 'cordon-alpha'],
                                 ['pip', 'install', '--index-url=%1$s', 'cordon-alpha'],
                                 ['pip', 'install', '--extra-index-url', '%1$s', 'cordon-alpha'],
                                 ['pip', 'install', 'cordon-alpha @ %1$s../files/cordon_alpha-9.0-py3-none-any.whl'],
                                 ['pip', 'install', '-e', 'git+%1$s#egg=cordon-alpha'],
                                 ['pip', 'download', 'cordon-alpha']):
                        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                        print('rc', r.returncode, r.stdout.strip().splitlines()[-1][:60])
                    """.formatted(other.url()));
            assertEquals(6, r.stdout().lines().filter(l -> l.startsWith("rc 1 ERROR: Cordon blocked")).count(), r::toString);
            assertEquals(0, other.connections.get(), "the other index was never contacted");
            assertTrue(index.log.isEmpty(), index.log::toString);
            assertTrue(r.blocked().stream().anyMatch(b -> b.policy().equals("packages.python.index_url")), r::toString);
            assertFalse(Files.exists(s.workspace().resolve(".cordon")));
        }
    }

    @Test
    void anInstallOverTheQuotaFailsCleanly() throws Exception {
        index.log.clear();
        Policy p = policy(approved("cordon-big"), "", 2);
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("quota")).poolSize(0).build();
             Session s = sb.openSession("quota")) {
            s.upload("keep.txt", "uploaded before".getBytes());
            assertTrue(s.exec("open('/workspace/mine.txt', 'w').write('x' * 1000)").ok());
            Map<String, String> before = snapshot(s.workspace());
            ExecResult r = s.exec("""
                    import subprocess
                    r = subprocess.run(['pip', 'install', 'cordon-big'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    print('rc', r.returncode, r.stdout)
                    """);
            assertTrue(r.stdout().contains("rc 1"), r::toString);
            assertTrue(r.stdout().contains("policy rule filesystem.max_size_mb"), r.stdout());
            assertTrue(r.stdout().contains("raise execution.sandbox.filesystem.max_size_mb to"), r.stdout());
            assertEquals(before, snapshot(s.workspace()), "the workspace is as it was");
            assertTrue(index.requestsFor("cordon_big-1.0-py3-none-any.whl").size() >= 1, "it was downloaded to check: " + index.log);
        }
    }

    @Test
    void allowInstallFalseRefusesEveryInstall() throws Exception {
        index.log.clear();
        Policy p = policy("allow_install: false\napproved_packages: [cordon-alpha]\nindex_url: \"" + index.url() + "\"", "");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("off")).poolSize(0).build();
             Session s = sb.openSession("off")) {
            ExecResult r = s.exec("""
                    import subprocess
                    r = subprocess.run('pip install cordon-alpha', shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    print('rc', r.returncode, r.stdout)
                    """);
            assertTrue(r.stdout().contains("rc 1 ERROR: Cordon blocked package install cordon-alpha: this policy allows no"
                    + " package installs at run time (policy rule packages.python.allow_install)"), r::toString);
            assertTrue(r.stdout().contains("allow_install: true"), r.stdout());
            assertTrue(index.log.isEmpty(), index.log::toString);
            assertEquals("packages.python.allow_install", r.blocked().getFirst().policy());
        }
    }

    @Test
    void onlyWheelsTheTierCanLoad() throws Exception {
        index.log.clear();
        Policy p = policy(approved("cordon-native", "cordon-sdist"), "");
        try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root.resolve("tags")).poolSize(0).build();
             Session s = sb.openSession("tags")) {
            ExecResult r = s.exec("""
                    import subprocess
                    for n in ('cordon-native', 'cordon-sdist'):
                        r = subprocess.run(['pip', 'install', n], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                        print('rc', r.returncode, r.stdout)
                    """);
            assertTrue(r.stdout().contains("its wheels are for other interpreters or platforms"), r.stdout());
            assertTrue(r.stdout().contains("it has only a source distribution, and Cordon never builds one"), r.stdout());
            assertTrue(index.requestsFor("/files/").isEmpty(), "nothing downloaded: " + index.log);
        }
    }
}
