package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile inputs: alias bombs, oversized files, deep nesting, endless error lists, and the rule that
 * loading never resolves names. The timeouts are generous safety nets against a hang; the
 * measured times are printed (each is a few milliseconds).
 */
class PolicyLoaderSafetyTest {

    /** Far above the measured times (ms), low enough that a hang or an expansion fails the build. */
    private static final Duration NET = Duration.ofSeconds(10);

    @TempDir
    Path tmp;

    /** The classic billion laughs: 10 levels of 10 aliases, 10^10 nodes if expanded. */
    static String billionLaughs() {
        StringBuilder b = new StringBuilder("execution:\n  sandbox:\n    lol0: &l0 \"lol\"\n");
        for (int i = 1; i <= 10; i++) {
            b.append("    lol").append(i).append(": &l").append(i).append(" [");
            for (int j = 0; j < 10; j++) {
                b.append(j == 0 ? "" : ",").append("*l").append(i - 1);
            }
            b.append("]\n");
        }
        return b.toString();
    }

    @Test
    void billionLaughsIsRefusedAtTheFirstAnchorWithoutExpanding() {
        String bomb = billionLaughs();
        PolicyException e = assertTimeoutPreemptively(NET, () -> timed("billion laughs",
                () -> assertThrows(PolicyException.class, () -> PolicyLoader.parse(bomb, "bomb.yaml"))));
        assertEquals(3, e.line());
        assertEquals(11, e.column());
        assertTrue(e.getMessage().contains("anchors (&l0)"), e.getMessage());
    }

    @Test
    void aliasWithoutAnchorIsRefused() {
        // An alias whose anchor the reader never accepted still stops at the alias.
        PolicyException e = assertThrows(PolicyException.class,
                () -> PolicyLoader.parse("execution:\n  engine: *x\n", "a.yaml"));
        assertEquals(2, e.line());
        assertTrue(e.getMessage().contains("aliases (*x)"), e.getMessage());
    }

    @Test
    void oversizedTextIsRefusedBeforeParsing() {
        // Invalid YAML on line 1: if the text were parsed, the error would be a syntax error.
        String big = ": [ {\n" + "x".repeat(PolicyLoader.MAX_BYTES + 10);
        PolicyException e = assertTimeoutPreemptively(NET, () -> timed("oversized text",
                () -> assertThrows(PolicyException.class, () -> PolicyLoader.parse(big, "big.yaml"))));
        assertTrue(e.getMessage().contains("larger than 1048576 bytes"), e.getMessage());
        assertFalse(e.getMessage().contains("invalid YAML"), e.getMessage());
    }

    @Test
    void oversizedFileIsRefusedWithoutReadingIt() throws IOException {
        // A sparse 8 GiB file: reading it would take far longer than the bound, and it is never read.
        Path f = tmp.resolve("huge.yaml");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(8L << 30);
        }
        PolicyException e = assertTimeoutPreemptively(Duration.ofSeconds(2), () -> timed("8 GiB sparse file",
                () -> assertThrows(PolicyException.class, () -> PolicyLoader.load(f))));
        assertTrue(e.getMessage().startsWith(f + ": the policy is larger than"), e.getMessage());
        assertTrue(e.getMessage().contains("(8589934592 bytes)"), e.getMessage());
    }

    @Test
    void endlessStreamIsReadOnlyUpToTheBound() {
        Path zero = Path.of("/dev/zero");
        if (!Files.exists(zero)) {
            return;
        }
        PolicyException e = assertTimeoutPreemptively(NET, () -> timed("/dev/zero",
                () -> assertThrows(PolicyException.class, () -> PolicyLoader.load(zero))));
        assertTrue(e.getMessage().contains("larger than"), e.getMessage());
    }

    @Test
    void deepFlowNestingIsRefusedFast() {
        String deep = "execution: " + "[".repeat(PolicyLoader.MAX_BYTES - 20);
        PolicyException e = assertTimeoutPreemptively(NET, () -> timed("1 MiB of [",
                () -> assertThrows(PolicyException.class, () -> PolicyLoader.parse(deep, "deep.yaml"))));
        assertTrue(e.getMessage().contains("nested deeper than 32 levels"), e.getMessage());
        assertEquals(1, e.line());
    }

    @Test
    void deepBlockNestingIsRefused() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            b.append("  ".repeat(i)).append("k").append(i).append(":\n");
        }
        PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.parse(b.toString(), "deep.yaml"));
        assertTrue(e.getMessage().contains("nested deeper than"), e.getMessage());
    }

    @Test
    void endlessErrorsAreCappedAndCounted() {
        StringBuilder b = new StringBuilder("execution:\n");
        for (int i = 0; b.length() < PolicyLoader.MAX_BYTES - 100; i++) {
            b.append("  k").append(i).append(": 1\n");
        }
        String text = b.toString();
        PolicyException e = assertTimeoutPreemptively(NET, () -> timed("~100k unknown keys",
                () -> assertThrows(PolicyException.class, () -> PolicyLoader.parse(text, "keys.yaml"))));
        assertEquals(PolicyException.MAX_ERRORS, e.errors().size());
        assertTrue(e.getMessage().endsWith("more errors not shown)"), e.getMessage().lines().reduce((x, y) -> y).get());
        assertEquals(2, e.line());
    }

    @Test
    void invalidUtf8IsRefused() throws IOException {
        Path f = tmp.resolve("latin1.yaml");
        Files.write(f, "execution:\n  engine: gr\u00e4alpy\n".getBytes(StandardCharsets.ISO_8859_1));
        PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.load(f));
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
    }

    @Test
    void missingFileIsAPolicyException() {
        Path f = tmp.resolve("nope.yaml");
        PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.load(f));
        assertTrue(e.getMessage().startsWith(f + ": cannot read the policy file"), e.getMessage());
    }

    @Test
    void loadNamesTheFileInErrorsAndSetsTheSource() throws Exception {
        Path f = tmp.resolve("openclaw.exec.yaml");
        Files.writeString(f, "execution:\n  sandbox:\n    network:\n      policy: sometimes\n");
        PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.load(f));
        assertEquals(f + ":4:15: execution.sandbox.network.policy: unknown value \"sometimes\""
                + " (expected one of: deny, restricted, permissive)", e.getMessage());
        Files.writeString(f, "execution: {}\n");
        Policy p = PolicyLoader.load(f);
        assertEquals(f, p.source());
        assertEquals(Policy.DEFAULT, p.withSource(null));
    }

    /**
     * The loader must never resolve a name: InetAddress.getByName on a non-literal is a DNS query.
     * Checked on the source of the whole package, so a later change cannot slip one in.
     */
    @Test
    void policyPackageNeverCallsTheResolver() throws IOException {
        Path dir = Path.of(System.getProperty("cordon.repo", "."), "src/main/java/dev/cordon/policy");
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertTrue(sources.size() > 10, "sources found: " + sources);
        for (Path p : sources) {
            // Code only: comments may name the calls they avoid.
            String src = Files.readString(p).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
            for (String call : List.of("getByName", "getAllByName", "getLocalHost", "getCanonicalHostName",
                    "getHostName(", "InetSocketAddress(")) {
                assertFalse(src.contains(call), p + " calls " + call);
            }
        }
        // And names are refused as CIDRs by syntax (InetAddress would have looked them up).
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse("localhost/32"));
        assertTrue(e.getMessage().contains("four parts"), e.getMessage());
    }

    /** The hand-written IPv6 parser agrees with the JDK's literal parser on many generated forms. */
    @Test
    void ipv6LiteralsAgreeWithTheJdk() throws Exception {
        Random r = new Random(42);
        for (int i = 0; i < 5000; i++) {
            byte[] a = new byte[16];
            // Many zero groups, so that :: compression is exercised.
            for (int g = 0; g < 8; g++) {
                if (r.nextInt(3) > 0) {
                    a[2 * g] = (byte) r.nextInt(256);
                    a[2 * g + 1] = (byte) r.nextInt(256);
                }
            }
            String canonical = IpLiteral.format(a);
            assertArrayEquals(a, IpLiteral.parse(canonical), canonical);
            // A literal never triggers DNS in the JDK; it is the reference here.
            byte[] jdk = InetAddress.getByName(canonical).getAddress();
            if (jdk.length == 16) {
                assertArrayEquals(jdk, a, canonical);
            }
            StringBuilder full = new StringBuilder();
            for (int g = 0; g < 8; g++) {
                full.append(g == 0 ? "" : ":").append(String.format("%04X", ((a[2 * g] & 0xff) << 8) | (a[2 * g + 1] & 0xff)));
            }
            assertArrayEquals(a, IpLiteral.parse(full.toString()), full.toString());
            assertEquals(canonical, IpLiteral.format(IpLiteral.parse(full.toString())));
        }
        assertEquals("::1", IpLiteral.format(IpLiteral.parse("0:0:0:0:0:0:0:1")));
        assertEquals("1::", IpLiteral.format(IpLiteral.parse("1:0:0:0:0:0:0:0")));
        assertEquals("1:0:1::1", IpLiteral.format(IpLiteral.parse("1:0:1:0:0:0:0:1")));
        assertEquals("2001:db8::1:0:0:1", IpLiteral.format(IpLiteral.parse("2001:db8:0:0:1:0:0:1")));
    }

    @Test
    void cidrParseNormalisesAndMatches() {
        Cidr c = Cidr.parse("::ffff:10.0.0.0/104");
        assertEquals("10.0.0.0/8", c.text());
        assertTrue(c.contains(new byte[] {10, 1, 2, 3}));
        assertFalse(c.contains(new byte[] {11, 0, 0, 0}));
        assertEquals(Cidr.parse("10.0.0.0/8"), c);
        assertEquals("fd00::/8", Cidr.parse("FD00::/8").text());
        assertEquals(128, Cidr.parse("::1").prefix());
    }

    private static <T> T timed(String what, java.util.function.Supplier<T> f) {
        long t0 = System.nanoTime();
        T v = f.get();
        System.out.printf("policy safety: %s refused in %.1f ms%n", what, (System.nanoTime() - t0) / 1e6);
        return v;
    }
}
