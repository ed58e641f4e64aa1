package dev.cordon.packages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pip in the native tier: guest CPython in the sandbox runs pip through subprocess / os.system;
 * the worker hands the command to the host's installer, which installs into the session's site
 * directory (on the worker's sys.path). The sandbox itself has no network at all.
 */
class InstallNativeTest {

    @Test
    void installsInTheNativeTierAndImportsInTheNextStatement(@TempDir Path root) throws Exception {
        try (TestIndex index = new TestIndex()) {
            index.json = true; // the native test uses the PEP 691 JSON form, and no PEP 658 metadata
            index.metadata = false;
            index.add(TestIndex.pureWheel("cordon-beta", "1.0", "cordon_beta", "def base():\n    return 'beta'\n", List.of()));
            index.add(TestIndex.pureWheel("cordon-alpha", "1.0", "cordon_alpha",
                    "import cordon_beta, sys\ndef hello():\n    return 'alpha on ' + cordon_beta.base() + ' ' + sys.implementation.name\n",
                    List.of("cordon-beta")));
            // A CPython-only wheel (its tag, not its content, is what matters here): fine for the native tier.
            index.add(TestIndex.wheel("cordon-native", "2.0", Map.of("cordon_native/__init__.py", "V = 2\n".getBytes()),
                    List.of(), "cp311-cp311-manylinux_2_17_x86_64"));
            index.add(TestIndex.pureWheel("cordon-gamma", "1.0", "cordon_gamma", "X = 1\n", List.of()));
            Policy p = PolicyLoader.parse("""
                    execution:
                      engine: native
                      sandbox:
                        packages:
                          python:
                            allow_install: true
                            approved_packages: [cordon-alpha, cordon-beta, cordon-native]
                            index_url: "%s"
                        filesystem: {persist_across_calls: true, max_size_mb: 32}
                    """.formatted(index.url()), "native");
            try (Sandbox sb = Sandbox.builder().policy(p).workspaceRoot(root).poolSize(0).build();
                 Session s = sb.openSession("nat")) {
                ExecResult r = s.exec("""
                        import subprocess, sys
                        r = subprocess.run([sys.executable, '-m', 'pip', 'install', 'cordon-alpha', 'cordon-native'],
                                           capture_output=True, text=True)
                        print('rc', r.returncode)
                        print(r.stdout)
                        import cordon_alpha, cordon_native
                        print(cordon_alpha.hello(), cordon_native.V)
                        """);
                assertEquals("native", r.engine());
                System.out.println("[packages] native tier, install of 3 packages: " + r.notices() + ", call " + r.timing());
                assertEquals(ExecResult.Status.OK, r.status(), r::toString);
                assertTrue(r.stdout().contains("rc 0"), r.stdout());
                assertTrue(r.stdout().contains("Successfully installed"), r.stdout());
                assertTrue(r.stdout().contains("alpha on beta cpython 2"), r.stdout());
                assertTrue(r.notices().stream().anyMatch(n -> n.startsWith("pip install cordon-alpha cordon-native: installed")),
                        r.notices()::toString);
                assertTrue(Files.isRegularFile(s.workspace().resolve(".cordon/site-packages/cordon_alpha/__init__.py")));
                assertTrue(index.requestsFor("/files/cordon_alpha-1.0-py3-none-any.whl").size() == 1, index.log::toString);

                index.log.clear();
                ExecResult no = s.exec("""
                        import os, cordon_alpha
                        print('status', os.system('pip install cordon-gamma'))
                        print(cordon_alpha.hello())
                        """);
                assertTrue(no.stdout().contains("status 256"), no::toString);
                assertTrue(no.stderr().contains("cordon-gamma is not in approved_packages"), no::toString);
                assertTrue(no.stdout().contains("alpha on beta cpython"), no::toString);
                assertEquals("packages.python.approved_packages", no.blocked().getFirst().policy());
                assertTrue(index.log.isEmpty(), index.log::toString);
                assertTrue(Files.notExists(s.workspace().resolve(".cordon/site-packages/cordon_gamma")));
            }
        }
    }
}
