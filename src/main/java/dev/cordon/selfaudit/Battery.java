package dev.cordon.selfaudit;

import static dev.cordon.selfaudit.Tier.py;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.ExecResult;
import dev.cordon.Session;
import dev.cordon.decision.Decision;
import dev.cordon.decision.ExecDecisions;
import dev.cordon.decision.NetworkDecisions;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import java.io.IOException;
import java.net.Inet6Address;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The escape attempts. Each check runs guest code in a fresh session of one tier and decides from
 * what the host sees: canary bytes in the output or the workspace, files in the outside directory,
 * marker files in the workspace, listener counts, resolver counts, the call's timing and the size of
 * what came back. What the guest code says it saw is reported alongside, never trusted.
 */
final class Battery {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Timestamped host log line, as {@code Audit} writes it. */
    private static final Pattern HOST_LINE = Pattern.compile(
            "^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z session=\\S+ \\[(BLOCKED|ERROR|WARN|INFO|DEBUG)\\] .*$");

    private final Fixture fx;
    private final Policy policy;

    Battery(Fixture fx, Policy policy) {
        this.fx = fx;
        this.policy = policy;
    }

    /** Host path of a guest path inside the session's workspace. */
    private Path host(Session s, String guestPath) {
        String ws = policy.filesystem().workspaceDir();
        return s.workspace().resolve(Path.of(ws).relativize(Path.of(guestPath)).toString());
    }

    private String uploads() {
        return policy.filesystem().uploadDir();
    }

    // ------------------------------------------------------------------ filesystem

    Check readOutside(Tier t) throws IOException {
        try (Session s = t.open("fs-read")) {
            Tier.Run r = t.run(s, """
                    C, D = %s, %s
                    attempt('open', lambda: open(C).read())
                    attempt('open-bytes', lambda: open(C, 'rb').read())
                    attempt('os.open', lambda: os.read(os.open(C, os.O_RDONLY), 4096))
                    attempt('io.FileIO', lambda: __import__('io').FileIO(C).read())
                    attempt('pathlib', lambda: __import__('pathlib').Path(C).read_text())
                    attempt('listdir', lambda: os.listdir(D))
                    attempt('scandir', lambda: [e.name for e in os.scandir(D)])
                    attempt('glob', lambda: __import__('glob').glob(D + '/*'))
                    attempt('shutil.copy', lambda: __import__('shutil').copy(C, %s))
                    attempt('proc-self-root', lambda: open('/proc/self/root' + C).read())
                    attempt('proc-1-root', lambda: open('/proc/1/root' + C).read())
                    attempt('hardlink', lambda: (os.link(C, %s), open(%s).read()))
                    attempt('linecache', lambda: __import__('linecache').getline(C, 1))
                    """.formatted(py(fx.canary.toString()), py(fx.canaryDir.toString()),
                    py(ws("copied.txt")), py(ws("hard")), py(ws("hard"))), 30);
            return canaryVerdict("fs.read-outside", t, r, "a canary file outside the workspace (" + fx.canary + ")");
        }
    }

    Check dotDot(Tier t) throws IOException {
        try (Session s = t.open("fs-dotdot")) {
            String rel = s.workspace().relativize(fx.canary).toString(); // e.g. ../../../canary/secret.txt
            Tier.Run r = t.run(s, """
                    R, W, C = %s, %s, %s
                    attempt('ws-dotdot', lambda: open(W + '/' + R).read())
                    attempt('cwd-dotdot', lambda: (os.chdir(W), open(R).read()))
                    attempt('deep-dotdot', lambda: open(W + '/' + '../' * 24 + C.lstrip('/')).read())
                    attempt('uploads-dotdot', lambda: open(%s + '/../' + R).read())
                    attempt('dot-slashes', lambda: open(W + '/./.././' + R).read())
                    attempt('fd-relative', lambda: os.read(os.open(R, os.O_RDONLY, dir_fd=os.open(W, os.O_RDONLY)), 4096))
                    """.formatted(py(rel), py(policy.filesystem().workspaceDir()), py(fx.canary.toString()),
                    py(uploads())), 30);
            return canaryVerdict("fs.dotdot", t, r, "the canary through '..' from the workspace (" + rel + ")");
        }
    }

    Check symlinkOut(Tier t) throws IOException {
        try (Session s = t.open("fs-symlink")) {
            Path up = host(s, uploads());
            Files.createDirectories(up);
            // Planted by "the host" (as an upload would bring them): absolute, relative, to a directory.
            Files.createSymbolicLink(up.resolve("planted-abs"), fx.canary);
            Files.createSymbolicLink(up.resolve("planted-rel"), up.relativize(fx.canary));
            Files.createSymbolicLink(up.resolve("planted-dir"), fx.canaryDir);
            String rel = s.workspace().relativize(fx.canary).toString();
            Tier.Run r = t.run(s, """
                    C, R, U = %s, %s, %s
                    attempt('guest-link-abs', lambda: (os.symlink(C, %s), open(%s).read()))
                    attempt('guest-link-rel', lambda: (os.symlink(R, %s), open(%s).read()))
                    attempt('planted-abs', lambda: open(U + '/planted-abs').read())
                    attempt('planted-rel', lambda: open(U + '/planted-rel').read())
                    attempt('planted-dir', lambda: open(U + '/planted-dir/secret.txt').read())
                    attempt('planted-dir-list', lambda: os.listdir(U + '/planted-dir'))
                    attempt('readlink-follow', lambda: open(os.path.realpath(U + '/planted-abs')).read())
                    attempt('tmp-link', lambda: (os.symlink(C, '/tmp/audit-link'), open('/tmp/audit-link').read()))
                    """.formatted(py(fx.canary.toString()), py(rel), py(uploads()), py(ws("l-abs")), py(ws("l-abs")),
                    py(ws("l-rel")), py(ws("l-rel"))), 30);
            return canaryVerdict("fs.symlink-out", t, r, "the canary through links made by the guest and planted "
                    + "in the upload dir");
        }
    }

    private Check canaryVerdict(String id, Tier t, Tier.Run r, String what) throws IOException {
        boolean leaked = r.leaked(fx.canaryToken);
        boolean listed = r.leaked(fx.listingToken);
        String observed = leaked ? "the canary's bytes came back (" + where(r, fx.canaryToken) + ")"
                : listed ? "the canary directory's listing came back (" + where(r, fx.listingToken) + ")"
                : "canary bytes and listing absent from the output and the workspace";
        return judge(r, !leaked && !listed && fx.canaryIntact(), id, t.name, what + ": " + observed, r.guest());
    }

    /**
     * The verdict, unless the guest code did not get through its attempts (a limit or a crash cut it
     * short): then nothing was shown, and the check is not held.
     */
    private static Check judge(Tier.Run r, boolean held, String id, String tier, String observed, String guest) {
        if (!r.finished()) {
            ExecResult x = r.result();
            return Check.notHeld(id, tier, "inconclusive: the guest code did not finish its attempts (status "
                    + x.status().json() + (x.limit() != null ? ", limit " + x.limit().json() : "")
                    + (x.error() != null ? ", " + x.error().type() + ": " + trim(String.valueOf(x.error().message())) : "")
                    + "); so far: " + observed, guest);
        }
        return Check.of(held, id, tier, observed, guest);
    }

    private static String where(Tier.Run r, String token) {
        return r.output().contains(token) ? "in the call's output" : "in a workspace file";
    }

    Check writeOutside(Tier t) throws IOException {
        try (Session s = t.open("fs-write")) {
            Path up = host(s, uploads());
            Files.createDirectories(up);
            Files.createSymbolicLink(up.resolve("planted-out"), fx.outside);
            String rel = s.workspace().relativize(fx.outside).toString();
            Tier.Run r = t.run(s, """
                    O, RO, W, U = %s, %s, %s, %s
                    attempt('write-abs', lambda: open(O + '/w1.txt', 'w').write('x'))
                    attempt('write-dotdot', lambda: open(W + '/' + RO + '/w2.txt', 'w').write('x'))
                    attempt('planted-dir', lambda: open(U + '/planted-out/w3.txt', 'w').write('x'))
                    attempt('rename-out', lambda: (open(W + '/m.txt', 'w').write('x'), os.rename(W + '/m.txt', O + '/w4.txt')))
                    attempt('mkdir', lambda: os.mkdir(O + '/d5'))
                    attempt('guest-link', lambda: (os.symlink(O, W + '/lo'), open(W + '/lo/w6.txt', 'w').write('x')))
                    attempt('os.open-creat', lambda: os.open(O + '/w7.txt', os.O_WRONLY | os.O_CREAT, 0o644))
                    attempt('symlink-in-outside', lambda: os.symlink('/etc/passwd', O + '/w8'))
                    """.formatted(py(fx.outside.toString()), py(rel), py(policy.filesystem().workspaceDir()),
                    py(uploads())), 30);
            List<String> found = fx.outsideEntries();
            return judge(r, found.isEmpty(), "fs.write-outside", t.name, found.isEmpty()
                    ? "the outside directory " + fx.outside + " is still empty"
                    : "files appeared outside the workspace: " + found, r.guest());
        }
    }

    /**
     * Cordon's log files inside the workspace: guest code tries to append, overwrite, truncate,
     * delete, rename, replace, and to inject a line through a crafted path. The host's lines must
     * be intact and no forged line may appear.
     */
    Check logTamper(Tier t, Policy base) throws IOException {
        String ws = base.filesystem().workspaceDir();
        List<String> logs = new ArrayList<>();
        LoggingPolicy l = base.logging();
        for (String f : new String[] {l.logFile(), l.auditFile(), egressFile(base)}) {
            if (f != null && (f + "/").startsWith(ws + "/") && !logs.contains(f)) {
                logs.add(f);
            }
        }
        String note = "";
        boolean add = l.logFile() == null || !logs.contains(l.logFile());
        Policy p = base;
        if (add) {
            // Check the guarantee anyway, with a log file inside the workspace for this check only.
            String added = ws + "/sandbox.log";
            logs.remove(added);
            logs.add(0, added);
            note = " (the policy keeps no log_file in the workspace: checked with log_file " + added
                    + " added for this check)";
            p = base.withLogging(new LoggingPolicy(l.level(), true, added, l.egress(), l.logBodies(), l.auditFile(),
                    l.egressFile()));
        } else {
            logs.remove(l.logFile());
            logs.add(0, l.logFile());
        }
        Tier own = add ? t.withPolicy(p) : t;
        try {
            return tamper(own, p, logs, note);
        } finally {
            if (own != t) {
                own.close();
            }
        }
    }

    private Check tamper(Tier own, Policy base, List<String> logs, String note) throws IOException {
        String ws = base.filesystem().workspaceDir();
        try (Session s = own.open("fs-logs")) {
            // First call, in the session's own engine (not through python3): denials the host decides and writes down.
            Tier.Run first = own.runDirect(s, denials(own), 30);
            List<Path> files = new ArrayList<>();
            List<String> before = new ArrayList<>();
            for (String g : logs) {
                Path h = host(s, g);
                files.add(h);
                before.add(Files.exists(h, LinkOption.NOFOLLOW_LINKS) ? Files.readString(h) : null);
            }
            String forgedLog = "2030-01-01T00:00:00Z session=forged [BLOCKED] forged=" + fx.token + " policy=none";
            String forgedJson = "{\"forged\":\"" + fx.token + "\"}";
            StringBuilder code = new StringBuilder("W = %s\n".formatted(py(ws)));
            code.append("open(W + '/decoy.txt', 'w').write('decoy')\n");
            for (String g : logs) {
                String forged = g.endsWith(".jsonl") || g.endsWith(".json") ? forgedJson : forgedLog;
                code.append("""
                        L, F = %s, %s
                        attempt('append', lambda: open(L, 'a').write('\\n' + F + '\\n'))
                        attempt('overwrite', lambda: open(L, 'w').write(F + '\\n'))
                        attempt('r+', lambda: open(L, 'r+').write(F))
                        attempt('truncate', lambda: os.truncate(L, 0))
                        attempt('remove', lambda: os.remove(L))
                        attempt('rename', lambda: os.rename(L, L + '.moved'))
                        attempt('replace', lambda: os.replace(W + '/decoy.txt', L))
                        attempt('chmod', lambda: os.chmod(L, 0o777))
                        if os.path.dirname(L) != W:
                            attempt('rename-dir', lambda: os.rename(os.path.dirname(L), os.path.dirname(L) + '-moved'))
                        """.formatted(py(g), py(forged)));
            }
            code.append("attempt('inject', lambda: open('/nonexistent-dir/x\\n' + %s, 'w'))\n".formatted(py(forgedLog)));
            Tier.Run r = own.run(s, code.toString(), 30);
            // A denial after the attempts: the host must still be able to append.
            Tier.Run again = own.runDirect(s, denials(own), 30);
            List<String> problems = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                Path h = files.get(i);
                String g = logs.get(i);
                if (!Files.isRegularFile(h, LinkOption.NOFOLLOW_LINKS)) {
                    problems.add(g + " is gone or no longer a regular file");
                    continue;
                }
                if (Files.exists(Path.of(h + ".moved"), LinkOption.NOFOLLOW_LINKS)) {
                    problems.add(g + " was moved");
                }
                String now = Files.readString(h);
                if (before.get(i) != null && !now.startsWith(before.get(i))) {
                    problems.add(g + ": earlier lines were changed or truncated");
                }
                for (String line : now.split("\n")) {
                    if (line.startsWith("2030-01-01T00:00:00Z") || line.equals(forgedJson) || line.contains("\"forged\"")) {
                        problems.add(g + ": a forged line is in it");
                        break;
                    }
                    if (g.equals(logs.getFirst()) && !line.isEmpty() && !HOST_LINE.matcher(line).matches()) {
                        problems.add(g + ": a line the host did not write: " + trim(line));
                        break;
                    }
                    if (!g.equals(logs.getFirst()) && !line.isEmpty() && !isJsonObject(line)) {
                        problems.add(g + ": a line that is not a JSON object: " + trim(line));
                        break;
                    }
                }
                if (i == 0 && base.logging().logBlockedOperations()) {
                    long lines = now.lines().filter(x -> x.contains(" [BLOCKED] ")).count();
                    int want = first.result().blocked().size() + again.result().blocked().size();
                    if (lines < want) {
                        problems.add(g + ": " + want + " denials were decided but only " + lines + " [BLOCKED] lines are there");
                    }
                }
            }
            return judge(r, problems.isEmpty(), "fs.log-tamper", own.name, (problems.isEmpty()
                    ? "host lines intact, no forged line, files in place: " + String.join(", ", logs)
                    : String.join("; ", problems)) + note, r.guest());
        }
    }

    /**
     * Code whose denials the host decides in every engine: a read outside (the in-JVM filesystem
     * gate) and a command the policy does not allow (the process gate, which the native engine's
     * worker asks too).
     */
    private String denials(Tier t) {
        String cmd = "wget";
        for (String c : new String[] {"wget", "printf", "touch"}) {
            if (ExecDecisions.decide(t.policy.subprocess(), c) instanceof Decision.Deny) {
                cmd = c;
                break;
            }
        }
        return """
                import subprocess
                attempt('deny-read', lambda: open(%s).read())
                attempt('deny-exec', lambda: subprocess.run([%s, '--version'], capture_output=True, timeout=10))
                """.formatted(py(fx.canary.toString()), py(cmd));
    }

    private static boolean isJsonObject(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n != null && n.isObject();
        } catch (IOException e) {
            return false;
        }
    }

    private static String trim(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

    /** The egress log's guest path when it is recorded (as the session wiring decides it). */
    static String egressFile(Policy p) {
        boolean wanted = p.logging().egress() || p.network().mode() == NetworkPolicy.Mode.PERMISSIVE;
        if (!wanted || p.network().mode() == NetworkPolicy.Mode.DENY) {
            return null;
        }
        return p.logging().egressFile() != null ? p.logging().egressFile()
                : p.filesystem().workspaceDir() + "/.cordon/egress.jsonl";
    }

    // ------------------------------------------------------------------ network

    Check connect(Tier t) throws Exception {
        if (fx.tcp == null) {
            return Check.skipped("net.connect", t.name, "the allowlist grants every loopback listener tried "
                    + "(127.0.0.1, 127.0.0.2, 127.83.47.9, ::1)");
        }
        boolean v6 = fx.tcpAddress instanceof Inet6Address;
        String h = fx.tcpAddress.getHostAddress();
        int port = fx.tcp.port();
        int before = fx.tcp.accepted.get();
        try (Session s = t.open("net-connect")) {
            Tier.Run r = t.run(s, """
                    import urllib.request, http.client, asyncio
                    H, P, HB = %s, %d, %s
                    FAM = socket.AF_INET6 if ':' in H else socket.AF_INET
                    def plain():
                        s = socket.socket(FAM, socket.SOCK_STREAM); s.settimeout(3)
                        try: s.connect((H, P))
                        finally: s.close()
                    def mro():
                        s = socket.socket(FAM, socket.SOCK_STREAM); s.settimeout(3)
                        try: type(s).__mro__[-2].connect(s, (H, P))
                        finally: s.close()
                    async def aio():
                        r, w = await asyncio.wait_for(asyncio.open_connection(H, P), 3)
                        w.close()
                    attempt('socket', plain)
                    attempt('create_connection', lambda: socket.create_connection((H, P), timeout=3).close())
                    attempt('connect_ex', lambda: socket.socket(FAM, socket.SOCK_STREAM).connect_ex((H, P)))
                    attempt('mro', mro)
                    attempt('urllib', lambda: urllib.request.urlopen('http://%%s:%%d/' %% (HB, P), timeout=3).read())
                    attempt('http.client', lambda: http.client.HTTPConnection(H, P, timeout=3).request('GET', '/'))
                    attempt('asyncio', lambda: asyncio.run(aio()))
                    """.formatted(py(h), port, py(v6 ? "[" + h + "]" : h)), 60);
            int reached = settle(fx.tcp.accepted) - before;
            return judge(r, reached == 0, "net.connect", t.name, "a listener on " + hp(h, port, v6)
                    + " that no allowlist entry grants " + (reached == 0 ? "accepted no connection"
                    : "accepted " + reached + " connection(s)") + mode(), r.guest());
        }
    }

    Check oddAddresses(Tier t) throws Exception {
        if (fx.tcp == null || !fx.tcpAddress.getHostAddress().equals("127.0.0.1")) {
            return Check.skipped("net.odd-ip", t.name, "needs a listener on 127.0.0.1 that the policy does not allow");
        }
        int port = fx.tcp.port();
        int before = fx.tcp.accepted.get();
        try (Session s = t.open("net-odd")) {
            Tier.Run r = t.run(s, """
                    P = %d
                    for form in ['2130706433', '0x7f000001', '0177.0.0.1', '0177.1', '127.1', '0x7f.1', '127.0.0.1.',
                                 '127.000.000.001', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1']:
                        def go(form=form):
                            fam = socket.AF_INET6 if ':' in form else socket.AF_INET
                            s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(3)
                            try: s.connect((form, P))
                            finally: s.close()
                        attempt(form, go)
                        attempt(form + '/cc', lambda form=form: socket.create_connection((form, P), timeout=3).close())
                    """.formatted(port), 60);
            int reached = settle(fx.tcp.accepted) - before;
            return judge(r, reached == 0, "net.odd-ip", t.name, "127.0.0.1:" + port + " written as decimal, hex, octal, "
                    + "short and IPv4-mapped IPv6 forms: the listener " + (reached == 0 ? "accepted no connection"
                    : "accepted " + reached + " connection(s)") + mode(), r.guest());
        }
    }

    Check udp(Tier t) throws Exception {
        if (fx.udp == null) {
            return Check.skipped("net.udp", t.name, "the allowlist grants datagrams to every loopback address tried");
        }
        String h = fx.udp.channel.socket().getLocalAddress().getHostAddress();
        int port = fx.udp.port();
        int before = fx.udp.received.get();
        try (Session s = t.open("net-udp")) {
            Tier.Run r = t.run(s, """
                    H, P = %s, %d
                    FAM = socket.AF_INET6 if ':' in H else socket.AF_INET
                    def connected():
                        s = socket.socket(FAM, socket.SOCK_DGRAM)
                        try:
                            s.connect((H, P)); s.send(b'x')
                        finally: s.close()
                    attempt('sendto', lambda: socket.socket(FAM, socket.SOCK_DGRAM).sendto(b'x', (H, P)))
                    attempt('connect-send', connected)
                    """.formatted(py(h), port), 30);
            int got = settle(fx.udp.received) - before;
            return judge(r, got == 0, "net.udp", t.name, "a UDP socket on " + hp(h, port, h.contains(":")) + " received "
                    + got + " datagram(s)" + mode(), r.guest());
        }
    }

    Check dns(Tier t) throws Exception {
        String name = t.name + "-" + fx.token + DnsProbe.SUFFIX;
        NetworkPolicy net = NetworkDecisions.canonical(t.policy.network());
        if (Fixture.granted(net, NetworkDecisions.resolve(net, name, name))) {
            return Check.skipped("net.dns", t.name, "the policy's allowlist grants the probe name " + name);
        }
        if (!DnsProbe.installed()) {
            return Check.skipped("net.dns", t.name, "this JVM does not resolve names through Cordon's DNS probe "
                    + "(another InetAddressResolverProvider is installed), so lookups cannot be counted from outside");
        }
        int before = DnsProbe.lookups(name);
        try (Session s = t.open("net-dns")) {
            Tier.Run r = t.run(s, """
                    import urllib.request
                    N = %s
                    attempt('getaddrinfo', lambda: socket.getaddrinfo(N, 443))
                    attempt('gethostbyname', lambda: socket.gethostbyname(N))
                    attempt('gethostbyname_ex', lambda: socket.gethostbyname_ex(N))
                    attempt('create_connection', lambda: socket.create_connection((N, 80), timeout=3).close())
                    attempt('urllib', lambda: urllib.request.urlopen('http://' + N + '/', timeout=3).read())
                    """.formatted(py(name)), 60);
            int n = DnsProbe.lookups(name) - before;
            return judge(r, n == 0, "net.dns", t.name, "lookups of a name no allowlist entry grants (" + name
                    + ") that reached the JVM's resolver: " + n + mode(), r.guest());
        }
    }

    Check listen(Tier t) throws Exception {
        if (t.policy.network().allowListen()) {
            return Check.skipped("net.listen", t.name, "the policy allows listening on loopback (allow_listen: true)");
        }
        int port = Probes.freePort();
        try (Session s = t.open("net-listen"); Probes.Poller poll = new Probes.Poller(port)) {
            Tier.Run r = t.run(s, """
                    import time
                    P = %d
                    def serve(host):
                        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        s.bind((host, P)); s.listen(5); s.settimeout(2.5)
                        try: s.accept()
                        finally: s.close()
                    attempt('listen-loopback', lambda: serve('127.0.0.1'))
                    attempt('listen-any', lambda: serve('0.0.0.0'))
                    """.formatted(port), 30);
            poll.close();
            int n = poll.reached.get();
            return judge(r, n == 0, "net.listen", t.name, "the host tried to connect to 127.0.0.1:" + port
                    + " every 100 ms while the guest tried to listen there: reached " + n + " time(s)", r.guest());
        }
    }

    private String mode() {
        return policy.network().mode() == NetworkPolicy.Mode.PERMISSIVE
                ? " (network.policy is permissive: guest code reaches every destination, the host's own loopback "
                        + "services and any DNS name included)" : "";
    }

    private static String hp(String h, int port, boolean v6) {
        return (v6 ? "[" + h + "]" : h) + ":" + port;
    }

    /** Waits a moment for connections the kernel completed but the listener has not yet counted. */
    private static int settle(java.util.concurrent.atomic.AtomicInteger counter) throws InterruptedException {
        int last = counter.get();
        for (int i = 0; i < 5; i++) {
            Thread.sleep(100);
            int now = counter.get();
            if (now == last && i >= 2) {
                break;
            }
            last = now;
        }
        return counter.get();
    }

    // ------------------------------------------------------------------ processes

    Check commandNotAllowed(Tier t) throws IOException {
        String cmd = null;
        for (String c : new String[] {"printf", "touch", "mkdir"}) {
            if (ExecDecisions.decide(t.policy.subprocess(), c) instanceof Decision.Deny) {
                cmd = c;
                break;
            }
        }
        if (cmd == null) {
            return Check.skipped("proc.not-allowed", t.name, "the policy allows printf, touch and mkdir");
        }
        try (Session s = t.open("proc-cmd")) {
            String marker = "audit-" + fx.token + "-na";
            String args = switch (cmd) {
                case "printf" -> "['RAN-%d-%s\\\\n', '42', " + py(fx.token) + "]";
                default -> "[" + py(ws(marker)) + "]";
            };
            Tier.Run r = t.run(s, """
                    import subprocess
                    CMD, ARGS = %s, %s
                    def show(p): print('OUT', p.stdout.decode(errors='replace').strip()); return p.returncode
                    attempt('run', lambda: show(subprocess.run([CMD] + ARGS, capture_output=True, timeout=10)))
                    attempt('abs-path', lambda: show(subprocess.run(['/usr/bin/' + CMD] + ARGS, capture_output=True, timeout=10)))
                    attempt('Popen', lambda: subprocess.Popen([CMD] + ARGS).wait(10))
                    attempt('posix_spawn', lambda: os.waitpid(os.posix_spawn('/usr/bin/' + CMD, [CMD] + ARGS, {}), 0))
                    attempt('execv', lambda: os.execv('/usr/bin/' + CMD, [CMD] + ARGS))
                    """.formatted(py(cmd), args), 60);
            boolean ran = r.output().contains("RAN-42-" + fx.token) || Files.exists(host(s, ws(marker)),
                    LinkOption.NOFOLLOW_LINKS);
            return judge(r, !ran, "proc.not-allowed", t.name, cmd + " (not allowed by the policy) "
                    + (ran ? "ran: its output or its file is there" : "left no output and no file"), r.guest());
        }
    }

    Check shell(Tier t) throws IOException {
        try (Session s = t.open("proc-shell")) {
            // The shell computes the marker text: it appears only if a shell ran the line.
            Tier.Run r = t.run(s, """
                    import subprocess
                    T, W = %s, %s
                    line = lambda n: 'echo RAN-$((40+2))-' + T + '; echo x > ' + W + '/audit-' + T + '-' + n
                    def show(p): print('OUT', p.stdout.decode(errors='replace').strip()); return p.returncode
                    attempt('os.system', lambda: os.system(line('1')))
                    attempt('shell=True', lambda: show(subprocess.run(line('2'), shell=True, capture_output=True, timeout=10)))
                    attempt('sh-c', lambda: show(subprocess.run(['sh', '-c', line('3')], capture_output=True, timeout=10)))
                    attempt('bash-c', lambda: show(subprocess.run(['bash', '-c', line('4')], capture_output=True, timeout=10)))
                    attempt('/bin/sh', lambda: show(subprocess.run(['/bin/sh', '-c', line('5')], capture_output=True, timeout=10)))
                    attempt('os.popen', lambda: print('OUT', os.popen(line('6')).read()))
                    """.formatted(py(fx.token), py(policy.filesystem().workspaceDir())), 60);
            List<String> files = new ArrayList<>();
            for (int i = 1; i <= 6; i++) {
                if (Files.exists(host(s, ws("audit-" + fx.token + "-" + i)), LinkOption.NOFOLLOW_LINKS)) {
                    files.add(String.valueOf(i));
                }
            }
            boolean ran = r.output().contains("RAN-42-" + fx.token) || !files.isEmpty();
            List<String> shells = t.policy.subprocess().allowedCommands().stream()
                    .filter(c -> List.of("sh", "bash", "dash", "zsh", "ksh", "busybox").contains(c)).toList();
            return judge(r, !ran, "proc.shell", t.name, ran ? "a shell ran a command line (its computed output or "
                    + "its file is there)" + (shells.isEmpty() ? "" : "; the policy allows " + shells)
                    : "no shell ran: no computed output, no file", r.guest());
        }
    }

    Check lookalike(Tier t) throws IOException {
        if (!t.policy.filesystem().writable()) {
            return Check.skipped("proc.lookalike", t.name, "the workspace is read-only: guest code cannot plant a file");
        }
        String name = t.policy.subprocess().allowedCommands().stream().filter(c -> c.matches("[A-Za-z0-9._+-]+"))
                .findFirst().orElse("python3");
        try (Session s = t.open("proc-lookalike")) {
            Tier.Run r = t.run(s, """
                    import subprocess
                    N, W, T = %s, %s, %s
                    F = W + '/' + N
                    open(F, 'w').write('#!/bin/sh\\necho RAN-$((40+2))-' + T + '\\necho x > ' + W + '/audit-' + T + '-look\\n')
                    os.chmod(F, 0o755)
                    def run(argv, **kw):
                        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, **kw)
                        print('OUT', p.stdout.decode(errors='replace').strip()); return p.returncode
                    attempt('dot-slash', lambda: run(['./' + N], cwd=W))
                    attempt('abs', lambda: run([F]))
                    attempt('PATH=workspace', lambda: run([N], env={'PATH': W}))
                    attempt('PATH=.', lambda: run([N], cwd=W, env={'PATH': '.'}))
                    attempt('exec-prefix', lambda: run([N], executable=F))
                    """.formatted(py(name), py(policy.filesystem().workspaceDir()), py(fx.token)), 60);
            boolean ran = r.output().contains("RAN-42-" + fx.token)
                    || Files.exists(host(s, ws("audit-" + fx.token + "-look")), LinkOption.NOFOLLOW_LINKS);
            return judge(r, !ran, "proc.lookalike", t.name, "a workspace file named " + name + " "
                    + (ran ? "ran as if it were the command" : "never ran (no output, no file)"), r.guest());
        }
    }

    // ------------------------------------------------------------------ limits

    /** The CPU loop, memory hog, output flood and sleep, each in its own session; run concurrently by the caller. */
    Check limit(Tier t, String which) throws IOException {
        ResourcesPolicy res = t.policy.resources();
        long wallBound = (res.maxWallSeconds() + 20L) * 1000;
        String code = switch (which) {
            case "cpu" -> "while True:\n    pass\n";
            case "memory" -> "keep = []\nwhile True:\n    keep.append(bytearray(8 << 20))\n";
            case "output" -> "chunk = 'x' * 65536\nwhile True:\n    sys.stdout.write(chunk)\n";
            case "sleep" -> "import time\ntime.sleep(%d)\n".formatted(res.maxWallSeconds() + 60);
            default -> throw new IllegalArgumentException(which);
        };
        String id = "limit." + which;
        try (Session s = t.open("limit-" + which)) {
            Tier.Run r = t.run(s, code, res.maxWallSeconds() + 30);
            ExecResult x = r.result();
            boolean inTime = r.wallMs() <= wallBound;
            String when = "the call ended after " + r.wallMs() + " ms (bound: max_wall_seconds " + res.maxWallSeconds()
                    + " + 20 s)";
            String guest = "status " + x.status().json() + (x.limit() != null ? ", limit " + x.limit().json() : "")
                    + (x.error() != null ? ", " + x.error().type() : "");
            return switch (which) {
                case "cpu" -> Check.of(inTime && x.status() == ExecResult.Status.LIMIT, id, t.name,
                        "an endless loop: " + when + " with status " + x.status().json()
                                + (x.limit() == null ? "" : " (" + x.limit().json() + ")"), guest);
                case "sleep" -> Check.of(inTime && x.status() == ExecResult.Status.LIMIT, id, t.name,
                        "a sleep past max_wall_seconds: " + when + " with status " + x.status().json(), guest);
                case "memory" -> {
                    boolean stopped = x.status() == ExecResult.Status.LIMIT || x.error() != null
                            && List.of("MemoryError", "WorkerDied").contains(x.error().type());
                    yield Check.of(inTime && stopped, id, t.name, "allocating without end (max_memory_mb "
                            + res.maxMemoryMb() + "): " + when + ", " + guest + "; the host kept running", guest);
                }
                case "output" -> {
                    long got = (long) x.stdout().length() + x.stderr().length();
                    long bound = res.maxOutputBytes() + 64 * 1024;
                    yield Check.of(inTime && got <= bound, id, t.name, "writing output without end: the host "
                            + "received " + got + " chars (bound: max_output_size_mb " + res.maxOutputSizeMb()
                            + "); " + when, guest);
                }
                default -> throw new IllegalArgumentException(which);
            };
        }
    }

    // ------------------------------------------------------------------ host access

    Check hostJava(Tier t) throws IOException {
        String marker = fx.outside.resolve("java-" + fx.token).toString();
        try (Session s = t.open("host-java")) {
            Tier.Run r = t.run(s, """
                    M, C = %s, %s
                    def via_java():
                        import java
                        Files = java.type('java.nio.file.Files'); Paths = java.type('java.nio.file.Paths')
                        Files.writeString(Paths.get(M), 'x')
                        print('LEAK', java.type('java.lang.System').getProperty('user.home'))
                        return Files.readString(Paths.get(C))
                    def via_polyglot_type():
                        import polyglot
                        return polyglot.eval(language='java', string='java.lang.System')
                    def via_host_lookup():
                        import java
                        return java.type('java.lang.Runtime').getRuntime().exec(['touch', M])
                    attempt('import-java', via_java)
                    attempt('polyglot-java', via_polyglot_type)
                    attempt('runtime-exec', via_host_lookup)
                    attempt('interop-subclasses', lambda: [c for c in object.__subclasses__() if 'Foreign' in c.__name__ and hasattr(c, 'type')])
                    """.formatted(py(marker), py(fx.canary.toString())), 30);
            boolean wrote = Files.exists(Path.of(marker), LinkOption.NOFOLLOW_LINKS);
            boolean leaked = r.leaked(fx.canaryToken) || r.output().contains("LEAK ");
            return judge(r, !wrote && !leaked, "host.java", t.name, (wrote ? "a host file was written through Java"
                    : "no host file written through Java") + "; " + (leaked ? "host data came back"
                    : "no host data or canary bytes came back"), r.guest());
        }
    }

    Check hostPolyglot(Tier t) throws IOException {
        try (Session s = t.open("host-polyglot")) {
            Tier.Run r = t.run(s, """
                    import polyglot
                    C = %s
                    attempt('eval-js', lambda: polyglot.eval(language='js', string='1+1'))
                    attempt('eval-path', lambda: polyglot.eval(path=C, language='python'))
                    attempt('eval-file', lambda: polyglot.eval(string=open(C).read(), language='python'))
                    attempt('import_value', lambda: polyglot.import_value('java'))
                    attempt('export_value', lambda: polyglot.export_value('cordon_audit', 1))
                    attempt('graalpy-read_file', lambda: __graalpython__.read_file(C))
                    attempt('graalpy-load_file', lambda: __graalpython__.load_file(C))
                    attempt('graalpy-run_path', lambda: __graalpython__.run_path(C))
                    attempt('graalpy-dump_heap', lambda: __graalpython__.dump_heap())
                    attempt('graalpy-builtin', lambda: __graalpython__.builtin(lambda: open(C).read())())
                    attempt('graalpy-home-up', lambda: os.listdir(__graalpython__.home + '/../../../..'))
                    """.formatted(py(fx.canary.toString())), 30);
            boolean leaked = r.leaked(fx.canaryToken) || r.leaked(fx.listingToken);
            boolean heap = false;
            try (var st = Files.walk(s.workspace())) {
                heap = st.anyMatch(p -> p.getFileName().toString().endsWith(".hprof"));
            }
            return judge(r, !leaked && !heap, "host.polyglot", t.name, (leaked ? "the canary came back"
                    : "canary bytes absent") + "; " + (heap ? "a heap dump was written" : "no heap dump written")
                    + " (polyglot.eval, import_value, __graalpython__ file and debug builtins)", r.guest());
        }
    }

    Check survival(Tier t) throws IOException {
        try (Session s = t.open("host-exit")) {
            Tier.Run r1 = t.run(s, "attempt('os._exit', lambda: os._exit(7))\n", 30);
            // One call each: on GraalPy's emulated backend os.getppid() is an internal error no
            // except clause catches, which ends the call.
            Tier.Run r2 = t.run(s, "import signal\nattempt('kill-self', lambda: os.kill(os.getpid(), signal.SIGKILL))\n"
                    + "attempt('killpg', lambda: os.killpg(0, signal.SIGTERM))\n"
                    + "attempt('sys.exit', lambda: sys.exit(3))\n", 30);
            Tier.Run r2b = t.run(s, "import signal\nattempt('kill-parent', lambda: os.kill(os.getppid(), signal.SIGKILL))\n",
                    30);
            Tier.Run r3 = t.run(s, "print('alive-' + %s)\n".formatted(py(fx.token)), 30);
            boolean alive = r3.result().stdout().contains("alive-" + fx.token);
            return Check.of(alive, "host.survival", t.name, "after os._exit, kill of self, parent and group, and "
                    + "sys.exit, the host is running and the session " + (alive ? "answers the next call"
                    : "no longer answers: " + r3.guest()), r1.guest() + "; " + r2.guest() + "; " + r2b.guest());
        }
    }

    private String ws(String name) {
        return policy.filesystem().workspaceDir() + "/" + name;
    }
}
