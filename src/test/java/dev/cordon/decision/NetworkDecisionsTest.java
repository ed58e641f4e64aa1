package dev.cordon.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.Cidr;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.NetworkPolicy.AllowEntry;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The network decisions as data: each row is an input and the answer the policy must give. */
class NetworkDecisionsTest {

    static Cidr cidr(String text) {
        String[] p = text.split("/");
        return new Cidr(InetAddress.ofLiteral(p[0]).getAddress(), Integer.parseInt(p[1]), text);
    }

    static List<Integer> ports(String s) {
        return s.isBlank() ? List.of() : Arrays.stream(s.split(" ")).map(Integer::valueOf).toList();
    }

    /** The guide's example allowlist, plus an IPv6 network and an entry without ports. */
    static final NetworkPolicy RESTRICTED = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
            new AllowEntry("api.openai.com", null, List.of(443)),
            new AllowEntry("httpbin.org", null, List.of(80, 443)),
            new AllowEntry("*.amazonaws.com", null, List.of(443)),
            new AllowEntry(null, cidr("10.0.0.0/8"), List.of(5432, 6379)),
            new AllowEntry(null, cidr("fd00::/8"), List.of(8080)),
            new AllowEntry("any-port.test", null, List.of())), false);

    static final NetworkPolicy PERMISSIVE = new NetworkPolicy(NetworkPolicy.Mode.PERMISSIVE, List.of(), false);
    static final NetworkPolicy LISTEN = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(), true);

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "null", textBlock = """
            api.openai.com,        api.openai.com
            API.OpenAI.COM.,       api.openai.com
            bücher.example,        xn--bcher-kva.example
            xn--bcher-kva.example, xn--bcher-kva.example
            a..b,                  null
            -,                     -
            'exa mple.com',        null
            'evil.com\u0000.api.openai.com', null
            """)
    void normalisesNames(String in, String out) {
        assertEquals(out, NetworkDecisions.normaliseName(in.replace("\\u0000", "\u0000")));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "null", textBlock = """
            127.0.0.1,            127.0.0.1
            127.1,                127.0.0.1
            2130706433,           127.0.0.1
            0x7f000001,           127.0.0.1
            0X7F000001,           127.0.0.1
            0177.0.0.1,           127.0.0.1
            0x7f.1,               127.0.0.1
            127.0.1,              127.0.0.1
            1.2.3,                1.2.0.3
            4294967295,           255.255.255.255
            4294967296,           null
            256.1.1.1,            null
            08.1.1.1,             null
            1.2.3.4.5,            null
            example.com,          null
            ::1,                  0:0:0:0:0:0:0:1
            [::1],                0:0:0:0:0:0:0:1
            ::ffff:127.0.0.2,     127.0.0.2
            [::ffff:7f00:2],      127.0.0.2
            0:0:0:0:0:ffff:a00:1, 10.0.0.1
            fe80::1%2,            fe80:0:0:0:0:0:0:1
            [127.0.0.1],          null
            """)
    void parsesLiteralsLikeTheCLibrary(String in, String out) {
        InetAddress a = NetworkDecisions.parseLiteral(in);
        assertEquals(out, a == null ? null : a.getHostAddress());
    }

    @ParameterizedTest(name = "{0} ~ {1} = {2}")
    @CsvSource(textBlock = """
            api.openai.com,  api.openai.com,      true
            api.openai.com,  x.api.openai.com,    false
            *.amazonaws.com, s3.amazonaws.com,    true
            *.amazonaws.com, a.b.amazonaws.com,   true
            *.amazonaws.com, amazonaws.com,       false
            *.amazonaws.com, evilamazonaws.com,   false
            *.amazonaws.com, amazonaws.com.evil,  false
            """)
    void matchesDomains(String pattern, String name, boolean match) {
        assertEquals(match, NetworkDecisions.domainMatches(pattern, name));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(nullValues = "null", textBlock = """
            RESTRICTED, api.openai.com,    network.allowlist[0]
            RESTRICTED, s3.amazonaws.com,  network.allowlist[2]
            RESTRICTED, amazonaws.com,     network.restricted
            RESTRICTED, example.com,       network.restricted
            RESTRICTED, localhost,         network.restricted
            PERMISSIVE, example.com,       network.permissive
            DENY,       api.openai.com,    network.policy
            """)
    void decidesResolve(String mode, String name, String rule) {
        NetworkPolicy p = policy(mode);
        Decision d = NetworkDecisions.resolve(p, NetworkDecisions.normaliseName(name), name);
        assertEquals(rule, d.rule());
        if (d instanceof Decision.Deny deny) {
            assertEquals("resolve", deny.operation());
            assertTrue(deny.fix().contains("domain: \"" + name + "\""), deny.fix());
            assertTrue(deny.message().contains(rule), deny.message());
        }
    }

    @ParameterizedTest(name = "{0} {1}:{2} names={3}")
    @CsvSource(nullValues = "null", delimiter = '|', textBlock = """
            RESTRICTED | 1.2.3.4        | 443  | api.openai.com    | network.allowlist[0]
            RESTRICTED | 1.2.3.4        | 80   | api.openai.com    | network.allowlist
            RESTRICTED | 1.2.3.4        | 443  | null              | network.restricted
            RESTRICTED | 1.2.3.4        | 443  | evil.com          | network.restricted
            RESTRICTED | 1.2.3.4        | 80   | httpbin.org       | network.allowlist[1]
            RESTRICTED | 1.2.3.4        | 443  | s3.amazonaws.com  | network.allowlist[2]
            RESTRICTED | 1.2.3.4        | 443  | amazonaws.com     | network.restricted
            RESTRICTED | 10.1.2.3       | 5432 | null              | network.allowlist[3]
            RESTRICTED | 10.1.2.3       | 22   | null              | network.allowlist
            RESTRICTED | 11.1.2.3       | 5432 | null              | network.restricted
            RESTRICTED | ::ffff:10.0.0.1| 6379 | null              | network.allowlist[3]
            RESTRICTED | fd12::1        | 8080 | null              | network.allowlist[4]
            RESTRICTED | fe80::1        | 8080 | null              | network.restricted
            RESTRICTED | 9.9.9.9        | 1    | any-port.test     | network.allowlist[5]
            RESTRICTED | 9.9.9.9        | 1    | x.any-port.test   | network.restricted
            PERMISSIVE | 8.8.8.8        | 53   | null              | network.permissive
            DENY       | 10.1.2.3       | 5432 | null              | network.policy
            """)
    void decidesConnect(String mode, String ip, int port, String name, String rule) {
        InetAddress a = NetworkDecisions.normalise(InetAddress.ofLiteral(ip));
        Decision d = NetworkDecisions.connect(policy(mode), "connect", a, port, name == null ? Set.of() : Set.of(name));
        assertEquals(rule, d.rule(), d::toString);
        if (d instanceof Decision.Deny deny) {
            assertEquals(Decision.Category.NETWORK, deny.category());
            String target = a.getHostAddress().contains(":") ? "[" + a.getHostAddress() + "]:" + port : a.getHostAddress() + ":" + port;
            assertTrue(deny.target().startsWith(target), deny.target());
            if (name != null) {
                assertTrue(deny.target().endsWith("(" + name + ")"), deny.target());
            }
            assertTrue(deny.blockedLine().startsWith("[BLOCKED] syscall=connect dest=" + target), deny.blockedLine());
            assertTrue(deny.blockedLine().endsWith(" policy=" + rule), deny.blockedLine());
            // the fix names what to add
            assertTrue(deny.fix().contains(String.valueOf(port)), deny.fix());
        }
    }

    @Test
    void guideLineForAnIpLiteral() {
        Decision d = NetworkDecisions.connect(RESTRICTED, "connect", InetAddress.ofLiteral("93.184.216.34"), 80, Set.of());
        assertEquals("[BLOCKED] syscall=connect dest=93.184.216.34:80 policy=network.restricted",
                assertInstanceOf(Decision.Deny.class, d).blockedLine());
        assertTrue(((Decision.Deny) d).fix().contains("{cidr: \"93.184.216.34/32\", ports: [80]}"), ((Decision.Deny) d).fix());
    }

    @Test
    void portMismatchSuggestsTheEntryWithThePortAdded() {
        Decision.Deny d = (Decision.Deny) NetworkDecisions.connect(RESTRICTED, "connect", InetAddress.ofLiteral("1.2.3.4"),
                8443, Set.of("httpbin.org"));
        assertEquals("network.allowlist", d.rule());
        assertTrue(d.fix().contains("{domain: \"httpbin.org\", ports: [80, 443, 8443]}"), d.fix());
    }

    @ParameterizedTest(name = "{0} listen {1}:{2}")
    @CsvSource(nullValues = "null", textBlock = """
            RESTRICTED, 127.0.0.1, 0,    network.socketpair
            RESTRICTED, ::1,       0,    network.socketpair
            RESTRICTED, 127.0.0.1, 8080, network.allow_listen
            RESTRICTED, null,      0,    network.allow_listen
            RESTRICTED, 10.0.0.1,  0,    network.allow_listen
            PERMISSIVE, 127.0.0.1, 8080, network.allow_listen
            DENY,       127.0.0.1, 0,    network.socketpair
            LISTEN,     127.0.0.1, 8080, network.allow_listen
            LISTEN,     null,      8080, network.allow_listen
            """)
    void decidesListen(String mode, String ip, int port, String rule) {
        Decision d = NetworkDecisions.listen(policy(mode), ip == null ? null : InetAddress.ofLiteral(ip), port);
        assertEquals(rule, d.rule());
        boolean allowed = mode.equals("LISTEN") && ip != null || rule.equals(NetworkDecisions.SOCKETPAIR);
        assertEquals(allowed, d instanceof Decision.Allow, d::toString);
    }

    @Test
    void datagramBindToAnEphemeralPortIsAClientBind() {
        assertInstanceOf(Decision.Allow.class, NetworkDecisions.bindDatagram(RESTRICTED, null, 0));
        assertInstanceOf(Decision.Deny.class, NetworkDecisions.bindDatagram(RESTRICTED, InetAddress.ofLiteral("127.0.0.1"), 5353));
        assertInstanceOf(Decision.Allow.class, NetworkDecisions.bindDatagram(LISTEN, InetAddress.ofLiteral("127.0.0.1"), 5353));
    }

    @Test
    void canonicalPolicyNormalisesEntriesAndKeepsIndices() {
        NetworkPolicy p = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
                new AllowEntry("bad name!", null, List.of()), new AllowEntry("*.Bücher.Example.", null, List.of(1))), false);
        NetworkPolicy c = NetworkDecisions.canonical(p);
        assertEquals("*.xn--bcher-kva.example", c.allowlist().get(1).domain());
        assertEquals("network.allowlist[1]", NetworkDecisions.resolve(c, "a.xn--bcher-kva.example", "a.bücher.example").rule());
        assertNull(NetworkDecisions.normaliseName("bad name!"));
    }

    static NetworkPolicy policy(String mode) {
        return switch (mode) {
            case "RESTRICTED" -> RESTRICTED;
            case "PERMISSIVE" -> PERMISSIVE;
            case "LISTEN" -> LISTEN;
            default -> NetworkPolicy.DENY_ALL;
        };
    }
}
