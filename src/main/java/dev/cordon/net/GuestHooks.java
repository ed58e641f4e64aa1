package dev.cordon.net;

import dev.cordon.agent.GuestErrors;
import dev.cordon.agent.boot.CordonHooks;
import dev.cordon.decision.Decision;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * The application side of the host hooks: attributes each hooked call on a marked thread to its
 * session's {@link NetworkGate} and lets the gate decide. Also the tripwire for file and process
 * access on guest threads that did not come through a gate.
 */
final class GuestHooks extends CordonHooks.Handler {

    private final List<String> readRoots;
    private final List<String> classDirs;
    private final List<String> resourceRoots;
    private final String localHostName;

    GuestHooks(List<String> readRoots, List<String> classDirs, List<String> resourceRoots, String localHostName) {
        this.readRoots = readRoots;
        this.classDirs = classDirs;
        this.resourceRoots = resourceRoots;
        this.localHostName = localHostName;
    }

    /**
     * Creates the handler and plugs it into the dispatcher. Only here, so that no other class's
     * bytecode mentions this type: the verifier would load it (and its bootstrap superclass, through
     * the application loader) while checking that class, before the agent has injected the dispatcher.
     */
    static void installNew(List<String> readRoots, List<String> classDirs, List<String> resourceRoots,
            String localHostName) {
        CordonHooks.install(new GuestHooks(readRoots, classDirs, resourceRoots, localHostName));
    }

    private static NetworkGate current() {
        return GuestRegistry.current();
    }

    // ------------------------------------------------------------------ network

    @Override
    public InetAddress[] resolve(String host) throws UnknownHostException {
        NetworkGate g = current();
        return g == null ? null : g.resolve(host);
    }

    @Override
    public String reverse(InetAddress address) {
        NetworkGate g = current();
        return g == null ? null : g.reverse(address);
    }

    @Override
    public void nameService(String host) throws UnknownHostException {
        NetworkGate g = current();
        if (g == null || host == null || host.equalsIgnoreCase(localHostName) || host.equalsIgnoreCase("localhost")) {
            // The JDK's own look-up of this machine's name (getLocalHost: os.uname, socket.gethostname):
            // not chosen by the guest, so no side channel.
            return;
        }
        g.unexpectedNameService(host);
    }

    @Override
    public void connect(Object channel, SocketAddress remote, int transport) throws IOException {
        NetworkGate g = current();
        if (g != null) {
            g.connect(channel, remote, transport);
        }
    }

    @Override
    public Object connected(Object channel, int transport) {
        NetworkGate g = current();
        if (g != null) {
            g.connected(channel);
        }
        return null;
    }

    @Override
    public void sendTo(Object channel, SocketAddress target) throws IOException {
        NetworkGate g = current();
        if (g != null) {
            g.sendTo(channel, target);
        }
    }

    @Override
    public void bind(Object channel, SocketAddress local, int kind) throws IOException {
        NetworkGate g = current();
        if (g != null) {
            g.bind(channel, local, kind);
        }
    }

    @Override
    public Object bound(Object channel, int kind) {
        NetworkGate g = current();
        if (g != null) {
            g.bound(channel);
        }
        return null;
    }

    @Override
    public void accepted(Object listenerRecord, Object client) throws IOException {
        if (listenerRecord instanceof NetworkGate.Listener l) {
            l.gate().accepted(l, client);
        }
    }

    @Override
    public void closed(Object record) {
        if (record instanceof NetworkGate.Tracked t) {
            t.gate().closed(t);
        }
    }

    @Override
    public void transferred(Object record, ByteBuffer buf, int start, long n, boolean write) {
        if (record instanceof NetworkGate.Conn c) {
            c.transferred(buf, start, n, write);
        }
    }

    // ------------------------------------------------------------------ tripwire

    @Override
    public void file(Object path, int flags) throws IOException {
        NetworkGate g = current();
        if (g == null) {
            return;
        }
        // A path relative to a directory descriptor (SecureDirectoryStream) cannot be placed: no read root applies.
        boolean placed = (flags & CordonHooks.AT_DIR) == 0;
        int kind = flags & ~CordonHooks.AT_DIR;
        String p = absolute(path);
        if (placed && (kind == CordonHooks.READ || kind == CordonHooks.LIST) && p != null && (under(p, readRoots)
                || kind == CordonHooks.READ && under(p, classDirs) && (p.endsWith(".class") || p.contains("/META-INF/")))) {
            return;
        }
        if (placed && p != null && under(p, resourceRoots) && truffleInstallsResource()) {
            return;
        }
        String op = switch (kind) {
            case CordonHooks.READ -> "read";
            case CordonHooks.LIST -> "list";
            case CordonHooks.WRITE -> "write";
            default -> "modify";
        };
        Decision.Deny d = new Decision.Deny(Decision.Category.FILESYSTEM, op, p == null ? String.valueOf(path) : p,
                "tripwire.filesystem",
                "guest code reached the host file system without passing Cordon's filesystem gate (a GraalPy or host "
                        + "path Cordon does not mediate), so Cordon stopped it",
                "nothing in the policy allows this; file access must go through the workspace. If ordinary Python "
                        + "code triggered it, report it to Cordon with the code");
        g.tripwire(d);
        throw GuestErrors.exception(GuestErrors.EACCES, d.message());
    }

    @Override
    public void exec(String[] command, String dir) throws IOException {
        NetworkGate g = current();
        if (g == null) {
            return;
        }
        String exe = command == null || command.length == 0 ? "?" : command[0];
        Decision.Deny d = new Decision.Deny(Decision.Category.SUBPROCESS, "exec", exe, "tripwire.subprocess",
                "guest code started a process without passing Cordon's process gate (a GraalPy or host path "
                        + "Cordon does not mediate), so Cordon stopped it",
                "nothing in the policy allows this; processes must go through execution.sandbox.subprocess. If "
                        + "ordinary Python code triggered it, report it to Cordon with the code");
        g.tripwire(d);
        throw GuestErrors.exception(GuestErrors.EACCES, d.message());
    }

    private static String absolute(Object path) {
        try {
            if (path instanceof Path p) {
                return p.toAbsolutePath().normalize().toString();
            }
            if (path instanceof File f) {
                return f.toPath().toAbsolutePath().normalize().toString();
            }
            if (path instanceof String s) {
                return Path.of(s).toAbsolutePath().normalize().toString();
            }
        } catch (InvalidPathException | java.io.IOError e) {
            return null;
        }
        return null;
    }

    /**
     * Truffle unpacks a language's internal resources (e.g. {@code internal_nfi-native} when GraalPy
     * first tries a C extension) into its resource cache lazily, on whatever thread needs them,
     * which may be a guest thread. Only that code, writing under the cache root, passes; it writes
     * fixed content from the language jars, nothing the guest chooses. Walking the stack costs
     * microseconds but happens only on a path that would otherwise be a tripwire denial.
     * Pre-extracting the resources ({@code Engine.copyResources} + {@code polyglot.engine.resourcePath})
     * avoids it altogether.
     */
    private static boolean truffleInstallsResource() {
        return StackWalker.getInstance().walk(frames -> frames.anyMatch(
                f -> f.getClassName().equals("com.oracle.truffle.polyglot.InternalResourceCache")
                        && f.getMethodName().startsWith("install")));
    }

    private static boolean under(String p, List<String> roots) {
        for (String root : roots) {
            if (p.equals(root) || p.startsWith(root) && (root.endsWith("/") || p.charAt(root.length()) == '/')) {
                return true;
            }
        }
        return false;
    }

}
