package dev.cordon.selfaudit;

import dev.cordon.decision.Decision;
import dev.cordon.decision.NetworkDecisions;
import dev.cordon.policy.NetworkPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * What the battery plants on the host and watches: a canary file outside every workspace, an
 * outside directory that must stay empty, loopback listeners the policy does not allow, and random
 * tokens no guest could guess.
 *
 * <p>The scratch root is {@code /var/tmp/cordon-audit-*} when possible: not under {@code /tmp}
 * (which both tiers replace with a private directory, so a canary there would prove nothing), and
 * world-traversable, with the canary world-readable and the outside directory world-writable, so
 * that only the sandbox (not file permissions: native-tier processes may run as another uid)
 * stands between guest code and them.
 */
final class Fixture implements AutoCloseable {

    final Path root;
    final Path canaryDir;
    final Path canary;
    final Path outside;
    final Path workspaces;
    /** In the canary's bytes only: never in a path or in any code the guest is given. */
    final String canaryToken;
    /** In the name of a second file in the canary's directory: appears only if guest code lists it. */
    final String listingToken;
    /** Names the DNS check asks for, and forged log lines. */
    final String token;
    final Probes.Tcp tcp;
    final InetAddress tcpAddress;
    final Probes.Udp udp;
    final List<String> notes = new ArrayList<>();

    Fixture(Path scratch, NetworkPolicy network) throws IOException {
        SecureRandom r = new SecureRandom();
        HexFormat hex = HexFormat.of();
        canaryToken = "CORDON-CANARY-" + hex.formatHex(r.generateSeed(12));
        listingToken = "listing-" + hex.formatHex(r.generateSeed(8));
        token = hex.formatHex(r.generateSeed(8));
        Path base = scratch != null ? scratch : defaultScratch();
        Files.createDirectories(base);
        root = Files.createTempDirectory(base, "cordon-audit-");
        open(root, "rwxr-xr-x");
        canaryDir = open(Files.createDirectory(root.resolve("canary")), "rwxr-xr-x");
        canary = open(Files.writeString(canaryDir.resolve("secret.txt"), canaryToken + "\n"), "rw-r--r--");
        open(Files.writeString(canaryDir.resolve(listingToken), "x"), "rw-r--r--");
        outside = open(Files.createDirectory(root.resolve("outside")), "rwxrwxrwx");
        workspaces = open(Files.createDirectory(root.resolve("ws")), "rwxr-xr-x");
        NetworkPolicy net = NetworkDecisions.canonical(network);
        Probes.Tcp t = null;
        InetAddress ta = null;
        Probes.Udp u = null;
        for (String literal : new String[] {"127.0.0.1", "127.0.0.2", "127.83.47.9", "::1"}) {
            InetAddress a = InetAddress.ofLiteral(literal);
            if (t == null) {
                Probes.Tcp c = tryTcp(a);
                if (c != null && !granted(net, NetworkDecisions.connect(net, "connect", a, c.port(), List.of(), null))) {
                    t = c;
                    ta = a;
                } else if (c != null) {
                    c.close();
                }
            }
            if (u == null) {
                Probes.Udp c = tryUdp(a);
                if (c != null && !granted(net, NetworkDecisions.connect(net, "sendto", a, c.port(), List.of(), null))) {
                    u = c;
                } else if (c != null) {
                    c.close();
                }
            }
        }
        tcp = t;
        tcpAddress = ta;
        udp = u;
    }

    /**
     * Whether the policy grants this destination explicitly (an allowlist entry). {@code permissive}
     * grants nothing explicitly: it lets guest code reach services on the host's own loopback, which
     * the network checks then report as not held.
     */
    static boolean granted(NetworkPolicy net, Decision d) {
        return d instanceof Decision.Allow && net.mode() == NetworkPolicy.Mode.RESTRICTED;
    }

    private static Probes.Tcp tryTcp(InetAddress a) {
        try {
            return new Probes.Tcp(a);
        } catch (IOException e) {
            return null; // e.g. no IPv6 loopback here
        }
    }

    private static Probes.Udp tryUdp(InetAddress a) {
        try {
            return new Probes.Udp(a);
        } catch (IOException e) {
            return null;
        }
    }

    private static Path defaultScratch() {
        Path varTmp = Path.of("/var/tmp");
        if (Files.isDirectory(varTmp) && Files.isWritable(varTmp)) {
            return varTmp;
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        return xdg != null ? Path.of(xdg, "cordon") : Path.of(System.getProperty("user.home"), ".cache", "cordon");
    }

    private static Path open(Path p, String perms) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        return p;
    }

    /** Whether anything exists in the outside directory (it must stay empty). */
    List<String> outsideEntries() throws IOException {
        try (Stream<Path> s = Files.list(outside)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The canary still holds exactly its token, and the listing token file is untouched. */
    boolean canaryIntact() throws IOException {
        return Files.readString(canary).equals(canaryToken + "\n");
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {tcp, udp}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing a listener
                }
            }
        }
        delete(root);
    }

    static void delete(Path p) {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(q);
                } catch (IOException e) {
                    // best effort: a file a sandboxed uid made read-only, say
                }
            }
        } catch (IOException e) {
            // best effort
        }
    }
}
