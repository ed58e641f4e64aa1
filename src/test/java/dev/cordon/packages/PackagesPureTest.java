package dev.cordon.packages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.decision.Decision;
import dev.cordon.decision.InstallDecisions;
import dev.cordon.policy.PackagesPolicy;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pure parts: PEP 440/508/503 handling, pip command recognition, and the install decision. */
class PackagesPureTest {

    static final PackagesPolicy.Python POLICY = new PackagesPolicy.Python(List.of(), true,
            List.of("requests", "cordon-alpha", "scikit-learn"), URI.create("https://index.example/simple/"));

    private static Pep440.Version v(String s) {
        return Pep440.Version.parse(s);
    }

    @Test
    void versionsOrderAsPep440Says() {
        List<String> ordered = List.of("1.0.dev1", "1.0a1", "1.0a2.dev1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0+local",
                "1.0.post1.dev1", "1.0.post1", "1.1", "1!0.1");
        for (int i = 0; i + 1 < ordered.size(); i++) {
            assertTrue(v(ordered.get(i)).compareTo(v(ordered.get(i + 1))) < 0, ordered.get(i) + " < " + ordered.get(i + 1));
        }
        assertEquals(v("1.0"), v("1.0.0"));
        assertEquals(v("1.0a1"), v("1.0-alpha-1"));
        assertNull(Pep440.Version.tryParse("not-a-version"));
    }

    @Test
    void specifiersFollowTheSpecification() {
        Object[][] cases = {
            {">=1.0,<2", "1.5", true}, {">=1.0,<2", "2.0", false}, {"<2", "2.0a1", false}, {"<2.0a2", "2.0a1", true},
            {">1.0", "1.0.post1", false}, {">1.0.post1", "1.0.post2", true}, {"~=1.4.2", "1.4.9", true},
            {"~=1.4.2", "1.5", false}, {"~=2.2", "2.9", true}, {"~=2.2", "3.0", false}, {"==1.*", "1.9.3", true},
            {"==1.*", "2.0", false}, {"!=1.1.*", "1.1.5", false}, {"==1.0", "1.0+local", true},
            {"==1.0+local", "1.0", false}, {"===1.0", "1.0", true}, {"<=1.0", "1.0+x", true},
        };
        for (Object[] c : cases) {
            assertEquals(c[2], Pep440.SpecifierSet.parse((String) c[0]).contains(v((String) c[1])), c[0] + " vs " + c[1]);
        }
        assertThrows(IllegalArgumentException.class, () -> Pep440.SpecifierSet.parse("~=1"));
        assertThrows(IllegalArgumentException.class, () -> Pep440.SpecifierSet.parse(">=1.*"));
    }

    @Test
    void requirementsAndMarkersForEachTier() throws Exception {
        Pep508.Requirement r = Pep508.parse("Foo_Bar[Security, socks] (>=2.0,<3) ; python_version >= \"3.8\"");
        assertEquals("foo-bar", r.normalized());
        assertEquals(Set.of("security", "socks"), r.extras());
        assertTrue(r.specifier().contains(v("2.5")));
        assertEquals("https://x/y.whl", Pep508.parse("pkg @ https://x/y.whl").url());
        Map<String, String> graal = TargetEnv.graalpy().markers;
        Map<String, String> cpython = new HashMap<>(graal);
        cpython.put("implementation_name", "cpython");
        cpython.put("platform_python_implementation", "CPython");
        cpython.put("python_version", "3.11");
        cpython.put("python_full_version", "3.11.2");
        Pep508.Requirement onlyCpython = Pep508.parse("numpy ; platform_python_implementation == 'CPython'");
        assertFalse(onlyCpython.applies(graal, ""));
        assertTrue(onlyCpython.applies(cpython, ""));
        Pep508.Requirement old = Pep508.parse("tomli ; python_version < '3.11'");
        assertFalse(old.applies(graal, ""));
        assertFalse(old.applies(cpython, ""));
        Pep508.Requirement extra = Pep508.parse("pysocks ; extra == 'SOCKS' and sys_platform == 'linux'");
        assertFalse(extra.applies(graal, ""), "an extra's requirement is not a base requirement");
        assertTrue(extra.applies(graal, "socks"), "extras compare normalised");
        assertTrue(Pep508.parse("x ; 'linux' in sys_platform or (os_name == 'nt')").applies(graal, ""));
        assertTrue(Pep508.parse("x ; implementation_name == 'graalpy'").applies(graal, ""));
        assertThrows(IllegalArgumentException.class, () -> Pep508.parse("x ; bogus_var == '1'"));
    }

    @Test
    void pipIsRecognisedOnlyAsPipFromTheTrustedPath() {
        assertEquals(List.of("install", "x"), PipCommand.recognise(List.of("pip", "install", "x")));
        assertEquals(List.of("install", "x"), PipCommand.recognise(List.of("/usr/bin/pip3.11", "install", "x")));
        assertEquals(List.of("install", "x"), PipCommand.recognise(List.of("/usr/bin/python3", "-I", "-m", "pip", "install", "x")));
        assertEquals(List.of("install", "x>=1"), PipCommand.recognise(List.of("sh", "-c", "pip install 'x>=1'")));
        assertEquals(List.of("install", "x"), PipCommand.recognise(List.of("/bin/sh", "-c", "python3 -m pip install x")));
        assertNull(PipCommand.recognise(List.of("./pip", "install", "x")), "a workspace file named pip is not pip");
        assertNull(PipCommand.recognise(List.of("/workspace/pip", "install", "x")));
        assertNull(PipCommand.recognise(List.of("python3", "-c", "import pip")));
        assertNull(PipCommand.recognise(List.of("sh", "-c", "pip install x; rm -rf /")), "a command line, not a pip command");
        assertNull(PipCommand.recognise(List.of("sh", "-c", "pip install $(cat reqs)")));
        assertNull(PipCommand.recognise(List.of("sh", "-c", "sh -c 'pip install x'")), "one level of shell only");
    }

    @Test
    void refusedSourcesAndSubcommands() {
        String[][] refused = {
            {"install", "-i", "http://127.0.0.1:9/simple", "x"}, {"install", "--index-url=http://evil/simple", "x"},
            {"install", "--extra-index-url", "http://evil/simple", "x"}, {"install", "-e", "git+https://h/r.git"},
            {"install", "git+https://github.com/a/b.git"}, {"install", "https://h/x-1.0-py3-none-any.whl"},
            {"install", "./x-1.0-py3-none-any.whl"}, {"install", "x @ https://h/x.whl"}, {"install", "-f", "/tmp", "x"},
            {"install", "--target", "/tmp/t", "x"}, {"download", "x"}, {"install", "--no-index", "x"},
            {"wheel", "x"}, {"install", "--bogus", "x"},
        };
        for (String[] a : refused) {
            PipCommand.Parsed p = PipCommand.parse(List.of(a), POLICY);
            assertFalse(p.refusals().isEmpty(), String.join(" ", a));
            Decision.Deny d = p.refusals().getFirst();
            assertTrue(d.rule().startsWith("packages.python."), d.rule());
            assertFalse(d.fix().isBlank());
        }
        PipCommand.Parsed ok = PipCommand.parse(List.of("install", "-q", "--upgrade", "--no-cache-dir", "-i",
                "https://index.example/simple", "Requests[socks]>=2", "-rreqs.txt"), POLICY);
        assertTrue(ok.refusals().isEmpty(), ok.refusals().toString());
        assertEquals(List.of("Requests[socks]>=2"), ok.requirements());
        assertEquals(List.of("reqs.txt"), ok.requirementFiles());
        assertTrue(ok.upgrade());
        assertEquals(1, ok.quiet());
        List<String> nested = new ArrayList<>();
        List<Decision.Deny> ref = new ArrayList<>();
        Map<String, Set<String>> hashes = new LinkedHashMap<>();
        List<String> reqs = PipCommand.parseRequirementsFile("""
                # comment
                requests>=2.0  # trailing comment
                cordon-alpha==1.0 --hash=sha256:ABCDEF
                -r more.txt
                --extra-index-url http://evil/simple
                """, POLICY, nested, ref, hashes);
        assertEquals(List.of("requests>=2.0", "cordon-alpha==1.0"), reqs);
        assertEquals(List.of("more.txt"), nested);
        assertEquals(1, ref.size());
        assertEquals(Set.of("abcdef"), hashes.get("cordon-alpha"));
    }

    @Test
    void theDecisionNamesWhatIsMissingAndTheFix() {
        assertEquals("scikit-learn", InstallDecisions.normalize("Scikit_Learn"));
        assertInstanceOf(Decision.Allow.class, InstallDecisions.decideRequested(POLICY, List.of("Requests", "Cordon_Alpha")));
        Decision.Deny d = (Decision.Deny) InstallDecisions.decideRequested(POLICY, List.of("requests", "plotly", "Yfinance"));
        assertEquals("packages.python.approved_packages", d.rule());
        assertEquals("plotly, yfinance", d.target());
        assertTrue(d.fix().contains("[requests, cordon-alpha, scikit-learn, plotly, yfinance]"), d.fix());
        Map<String, String> deps = new LinkedHashMap<>();
        deps.put("cordon-beta", "cordon-alpha==1.0");
        Decision.Deny dep = (Decision.Deny) InstallDecisions.decideDependencies(POLICY, deps, "cordon-alpha");
        assertTrue(dep.reason().contains("cordon-beta (required by cordon-alpha==1.0)"), dep.reason());
        PackagesPolicy.Python off = new PackagesPolicy.Python(List.of(), false, List.of("x"), POLICY.indexUrl());
        Decision.Deny no = (Decision.Deny) InstallDecisions.mayInstall(off, "x");
        assertEquals("packages.python.allow_install", no.rule());
        assertTrue(no.fix().contains("allow_install: true"), no.fix());
        PackagesPolicy.Python noIndex = new PackagesPolicy.Python(List.of(), true, List.of("x"), null);
        assertEquals("packages.python.index_url", ((Decision.Deny) InstallDecisions.mayInstall(noIndex, "x")).rule());
        assertTrue(InstallDecisions.sameOrigin(URI.create("http://h:80/simple/"), URI.create("http://H/files/x.whl")));
        assertFalse(InstallDecisions.sameOrigin(URI.create("http://h/simple/"), URI.create("http://h:8080/x.whl")));
        assertFalse(InstallDecisions.sameOrigin(URI.create("https://h/simple/"), URI.create("http://h/x.whl")));
    }

    @Test
    void indexPagesInHtmlAndJson() throws Exception {
        URI page = URI.create("http://127.0.0.1:1/simple/cordon-alpha/");
        List<SimpleIndex.FileLink> html = SimpleIndex.parseHtml(page, """
                <html><body><a href="../../files/cordon_alpha-1.0-py3-none-any.whl#sha256=AB12"
                data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=cd34">x</a>
                <a href='/files/cordon_alpha-0.9.tar.gz' data-yanked>y</a></body></html>""");
        assertEquals(2, html.size());
        assertEquals(URI.create("http://127.0.0.1:1/files/cordon_alpha-1.0-py3-none-any.whl#sha256=AB12"), html.get(0).url());
        assertEquals("ab12", html.get(0).sha256());
        assertEquals(">=3.8", html.get(0).requiresPython());
        assertTrue(html.get(0).hasMetadata());
        assertEquals("cd34", html.get(0).metadataSha256());
        assertTrue(html.get(1).yanked());
        List<SimpleIndex.FileLink> json = SimpleIndex.parseJson(page, """
                {"meta": {"api-version": "1.1"}, "name": "cordon-alpha", "files": [{"filename":
                "cordon_alpha-1.0-py3-none-any.whl", "url": "https://other.host/x.whl", "hashes": {"sha256": "EF"},
                "core-metadata": true, "yanked": "broken"}]}""");
        assertEquals("ef", json.getFirst().sha256());
        assertTrue(json.getFirst().yanked());
        assertFalse(InstallDecisions.sameOrigin(URI.create("http://127.0.0.1:1/simple/"), json.getFirst().url()),
                "a file on another host is never fetched");
    }

    @Test
    void wheelTagsPerTier() {
        TargetEnv g = TargetEnv.graalpy();
        assertTrue(g.rank(TargetEnv.WheelName.parse("a-1.0-py3-none-any.whl")) >= 0);
        assertTrue(g.rank(TargetEnv.WheelName.parse("a-1.0-py2.py3-none-any.whl")) >= 0);
        assertTrue(g.rank(TargetEnv.WheelName.parse("a-1.0-py312-none-any.whl")) >= 0);
        assertEquals(-1, g.rank(TargetEnv.WheelName.parse("a-1.0-py313-none-any.whl")));
        assertEquals(-1, g.rank(TargetEnv.WheelName.parse("a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")),
                "no C extensions in the in-JVM tier");
        assertTrue(g.pythonOk(">=3.8"));
        assertFalse(g.pythonOk("<3.12"));
        assertNotNull(TargetEnv.WheelName.parse("a_b-1.0-1build-py3-none-any.whl"));
        assertNull(TargetEnv.WheelName.parse("a-1.0.tar.gz"));
        assertTrue(TargetEnv.linuxPlatforms("x86_64", "2.36").containsAll(List.of("manylinux_2_36_x86_64",
                "manylinux2014_x86_64", "manylinux1_x86_64", "linux_x86_64")));
        assertFalse(TargetEnv.linuxPlatforms("x86_64", "2.31").contains("manylinux_2_34_x86_64"));
    }
}
