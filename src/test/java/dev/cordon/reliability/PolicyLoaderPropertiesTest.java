package dev.cordon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import dev.cordon.policy.PolicyReport;
import dev.cordon.policy.Presets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Property tests of {@link PolicyLoader#parse}: whatever the text, the answer is a {@link Policy}
 * or a {@link PolicyException} whose every line reads {@code SOURCE:LINE:COLUMN: ...} with a
 * position inside the text; never another exception, never slow. Valid policies survive the trip
 * through their canonical YAML (how a worker JVM receives its policy).
 */
class PolicyLoaderPropertiesTest {

    static final String SOURCE = "fuzz.yaml";
    static final Pattern POSITION = Pattern.compile("^" + Pattern.quote(SOURCE) + ":(\\d+):(\\d+): .+");
    /** Per parse, on a loaded 2-core machine: a policy is a few KB, anything slower is a bug. */
    static final long MAX_NANOS = 500_000_000L;
    static long slowest;
    static int valid;
    static int invalid;

    @AfterAll
    static void report() {
        System.out.printf("policy fuzz: %d valid, %d invalid, slowest parse %.1f ms%n", valid, invalid, slowest / 1e6);
    }

    /** The contract, for any text. */
    static void check(String text) {
        long t0 = System.nanoTime();
        try {
            Policy p = PolicyLoader.parse(text, SOURCE);
            assertNotNull(p);
            valid++;
        } catch (PolicyException e) {
            invalid++;
            int lines = lines(text);
            for (String line : e.getMessage().split("\n")) {
                if (line.startsWith("(") && line.endsWith("more errors not shown)")) {
                    continue;
                }
                for (char ch : line.toCharArray()) {
                    assertTrue(ch >= 0x20 && ch != 0x2028 && ch != 0x2029 && ch != 0x85 && !(ch >= 0x202a && ch <= 0x202e),
                            () -> "raw control, separator or bidi character in the message: " + Props.show(line));
                }
                if (line.startsWith(SOURCE + ": ") && line.contains("larger than")) {
                    continue; // refused before parsing: no position to give
                }
                Matcher m = POSITION.matcher(line);
                assertTrue(m.matches(), () -> "no file:line:col in '" + line + "' for text:\n" + text);
                int l = Integer.parseInt(m.group(1));
                int c = Integer.parseInt(m.group(2));
                assertTrue(l >= 1 && l <= lines + 1, () -> "line " + l + " outside the text (" + lines + " lines): " + line);
                assertTrue(c >= 1, () -> "column " + c + ": " + line);
            }
            assertTrue(e.errors().size() <= PolicyException.MAX_ERRORS, "bounded error list");
        } catch (RuntimeException | StackOverflowError e) {
            throw new AssertionError("parse threw " + e + " for text:\n" + text, e);
        }
        long dt = System.nanoTime() - t0;
        slowest = Math.max(slowest, dt);
        assertTrue(dt < MAX_NANOS, () -> "parse took " + dt / 1_000_000 + " ms for text:\n" + text);
    }

    /** Lines as the YAML 1.1 reader counts them: \n, \r\n, \r, U+0085, U+2028 and U+2029 each end one. */
    static int lines(String text) {
        int n = 1;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r' && (i + 1 == text.length() || text.charAt(i + 1) != '\n') || c == 0x85 || c == 0x2028
                    || c == 0x2029) {
                n++;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ generated text

    static final List<String> KEYS = List.of("execution", "engine", "isolation", "sandbox", "network", "policy",
            "allowlist", "domain", "cidr", "ports", "allow_listen", "logging", "egress", "log_bodies", "packages", "python",
            "preinstalled", "allow_install", "approved_packages", "index_url", "filesystem", "workspace_dir", "writable",
            "max_size_mb", "persist_across_calls", "upload_dir", "output_dir", "subprocess", "allow", "allowed_commands",
            "blocked_commands", "max_runtime_seconds", "resources", "max_memory_mb", "max_cpu_seconds",
            "max_output_size_mb", "max_processes", "max_wall_seconds", "level", "log_blocked_operations", "log_file",
            "audit_file", "egress_file", "bogus", "allowed_command");

    static final List<String> SCALARS = List.of("true", "false", "yes", "null", "~", "0", "1", "-1", "65535", "65536",
            "0x1BB", "0443", "1_000", "1e3", "99999999999999999999", "restricted", "deny", "permissive", "worker",
            "in-process", "native", "graalpy", "auto", "\"/workspace\"", "/workspace/../etc", "/tmp", "''", "\"\"",
            "'*.example.com'", "\"10.0.0.0/8\"", "10.0.0.1/8", "::ffff:10.0.0.0/104", "\"bücher.example\"", "pandas",
            "\"https://pypi.org/simple\"", "&a x", "*a", "!!str x", "!!binary AAAA", "|", ">", "'unterminated", "\"\\x00\"",
            "[]", "{}", "[443, 80]", "[\"443\"]", "{policy: deny}", "- x", "? x", "%TAG", "---", "...", "\t", "\uFEFF",
            "\u0000", "@", "`");

    static String yamlish(Random r) {
        return String.join("\n", Props.listOf(r, 0, 30, x -> {
            String k = Props.pick(x, KEYS);
            String v = x.nextInt(4) == 0 ? Props.anyText(x, 12) : Props.pick(x, SCALARS);
            return " ".repeat(x.nextInt(13)) + switch (x.nextInt(7)) {
                case 0 -> k + ":";
                case 1 -> k + ": " + v;
                case 2 -> "- " + k + ": " + v;
                case 3 -> "- " + v;
                case 4 -> k + ": {" + k + ": " + v + "}";
                case 5 -> "# " + v;
                default -> v;
            };
        }));
    }

    /**
     * Findings of these properties, kept: raw line/paragraph separators and bidi overrides from the
     * policy text reached error messages (an error could look like several lines, or reorder what
     * the reader sees; fixed by escaping them in PolicyException's message), and a YAML scanner
     * error that carries no mark was reported without line:column (fixed in YamlTree: the
     * reader's position).
     */
    @Test
    void findingsStayFixed() {
        for (String text : List.of(" \t", "c\ud83d\ude15|\u2029\u2028$", "a:\n  allowlist: {allowlist: *\u2028i\u202e}",
                "execution:\n  engine: \"nat\u202eive\"", "execution: {isolation: \"w\rorker\"}", "\u0085: 1",
                "execution:\n  sandbox:\n    network:\n      allowlist: [{domain: \"a\u2028b.com\"}]", "\ud800: x",
                // A scanner error without a mark (was reported with no line:col).
                "execution:\n  sandbox:\n    filesystem:\n      workspace_dir: \"/work\n      writable: true\n"
                        + "   \"https://x\"   persist_across_calls: true\n")) {
            check(text);
        }
    }

    @Test
    void anyYamlishTextParsesOrFailsWithAPosition() {
        Props.forAll("yamlish", 4000, PolicyLoaderPropertiesTest::yamlish, PolicyLoaderPropertiesTest::check);
    }

    @Test
    void anyTextAtAllParsesOrFailsWithAPosition() {
        Props.forAll("any text", 3000, r -> Props.anyText(r, 60), PolicyLoaderPropertiesTest::check);
    }

    // ------------------------------------------------------------------ mutated valid policies

    static final List<String> SEEDS = presets();

    static List<String> presets() {
        List<String> seeds = new ArrayList<>();
        for (String name : Presets.names()) {
            try {
                seeds.add(Presets.text(name));
            } catch (PolicyException e) {
                throw new AssertionError(e);
            }
        }
        return seeds;
    }

    static String mutated(Random r) {
        String t = Props.pick(r, SEEDS);
        for (Mutation m : Props.listOf(r, 1, 6, x -> new Mutation(x.nextInt(5), x.nextDouble(),
                x.nextInt(3) == 0 ? Props.pick(x, SCALARS) : x.nextBoolean() ? Props.pick(x, KEYS)
                        : Props.pick(x, ":", "-", " ", "\n", "  ", "{", "}", "[", "]", ",", "'", "\"", "#", "&", "*", "!", "|")))) {
            t = m.apply(t);
        }
        return t;
    }

    record Mutation(int kind, double where, String token) {
        String apply(String t) {
            if (t.isEmpty()) {
                return token;
            }
            int at = (int) (where * t.length());
            at = Math.min(at, t.length() - 1);
            return switch (kind) {
                case 0 -> t.substring(0, at) + token + t.substring(at);                     // insert
                case 1 -> t.substring(0, at) + t.substring(Math.min(t.length(), at + 1 + token.length() % 5)); // delete
                case 2 -> {                                                                   // duplicate a line
                    int e = t.indexOf('\n', at);
                    e = e < 0 ? t.length() : e;
                    int s = t.lastIndexOf('\n', e - 1) + 1;
                    yield t.substring(0, e) + "\n" + t.substring(s, e) + t.substring(e);
                }
                case 3 -> {                                                                   // re-indent a line
                    int s = t.lastIndexOf('\n', at) + 1;
                    yield t.substring(0, s) + " ".repeat(token.length() % 7) + t.substring(s).stripLeading();
                }
                default -> t.substring(0, at) + token + t.substring(Math.min(t.length(), at + token.length())); // overwrite
            };
        }
    }

    @Test
    void mutatedPresetsParseOrFailWithAPosition() {
        Props.forAll("mutated presets", 4000, PolicyLoaderPropertiesTest::mutated, PolicyLoaderPropertiesTest::check);
    }

    // ------------------------------------------------------------------ round trip

    static String validPolicy(Random r) {
        String mode = Props.pick(r, "deny", "restricted", "permissive");
        String entries = "[" + String.join(", ", Props.listOf(r, 0, 4, x -> Props.pick(x, "{domain: \"api.example.com\", ports: [443]}",
                "{domain: \"*.Example.ORG\"}", "{cidr: \"10.0.0.0/8\", ports: [80, 443]}", "{cidr: \"::ffff:10.1.0.0/112\"}",
                "{cidr: \"fd00::/8\", ports: [8080]}", "{domain: \"b\u00fccher.example.\", ports: [443, 443]}"))) + "]";
        String cmds = "[" + String.join(", ", new java.util.LinkedHashSet<>(Props.listOf(r, 0, 3,
                x -> Props.pick(x, "ls", "python3", "wc", "head", "g++", "sort")))) + "]";
        StringBuilder y = new StringBuilder("execution:\n");
        y.append("  engine: ").append(Props.pick(r, "graalpy", "native", "auto")).append('\n');
        y.append("  isolation: ").append(Props.pick(r, "in-process", "worker")).append('\n');
        y.append("  sandbox:\n");
        y.append("    network: {policy: ").append(mode).append(mode.equals("restricted") ? ", allowlist: " + entries : "")
                .append(", allow_listen: ").append(r.nextBoolean()).append(", logging: {egress: ").append(r.nextBoolean()).append("}}\n");
        y.append("    filesystem: {workspace_dir: \"").append(Props.pick(r, "/workspace", "/data/ws", "/home/agent"))
                .append("\", writable: ").append(r.nextBoolean()).append(", max_size_mb: ").append(1 + r.nextInt(4096))
                .append(", persist_across_calls: ").append(r.nextBoolean()).append("}\n");
        y.append(r.nextBoolean() ? "    subprocess: {allow: true, allowed_commands: " + cmds + ", max_runtime_seconds: "
                + (1 + r.nextInt(600)) + "}\n" : "    subprocess: {allow: false}\n");
        y.append("    resources: {max_memory_mb: ").append(1 + r.nextInt(8192)).append(", max_cpu_seconds: ").append(1 + r.nextInt(600))
                .append(", max_output_size_mb: ").append(1 + r.nextInt(100)).append(", max_processes: ").append(r.nextInt(33)).append("}\n");
        y.append(Props.pick(r, "", "    logging: {level: debug, log_file: \"sandbox.log\"}\n",
                "    logging: {level: warn, log_blocked_operations: false, audit_file: \"/var/log/a.jsonl\"}\n"));
        return y.toString();
    }

    @Test
    void validPoliciesSurviveTheirCanonicalYaml() {
        Props.forAll("round trip", 1000, PolicyLoaderPropertiesTest::validPolicy, text -> {
            try {
                Policy p = PolicyLoader.parse(text, SOURCE);
                String yaml = PolicyReport.of(p).effectiveYaml();
                Policy back = PolicyLoader.parse(yaml, "canonical");
                assertEquals(p, back, () -> text + "\n---\n" + yaml);
                assertEquals(yaml, PolicyReport.of(back).effectiveYaml(), "canonical YAML is a fixed point");
            } catch (PolicyException e) {
                throw new AssertionError(e.getMessage(), e);
            }
        });
    }
}
