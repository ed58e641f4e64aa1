package dev.cordon.net;

import dev.cordon.agent.CordonAgent;
import dev.cordon.agent.boot.CordonHooks;
import dev.cordon.decision.DenialSink;
import dev.cordon.graalpy.SharedEngine;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;

/**
 * Which session gate a guest thread belongs to, and the one-time activation of the hooks. Kept
 * apart from {@link GuestHooks} on purpose: that class extends the bootstrap dispatcher's handler
 * type, so it may only be loaded once the agent has injected the dispatcher.
 */
final class GuestRegistry {

    private GuestRegistry() { }

    private static volatile String unavailable = "not activated yet";
    private static volatile boolean active;
    private static volatile Engine engine;

    /** Session gates by context ({@code Context} wrappers compare equal for the same context). */
    static final ConcurrentHashMap<Context, NetworkGate> GATES = new ConcurrentHashMap<>();

    /** Denials on Cordon contexts that no session is attached to (warm-up, retired): to stderr. */
    static volatile DenialSink unattachedSink = d -> System.err.println("cordon: unattached context: " + d.blockedLine()
            + " (" + d.reason() + ")");

    /**
     * Turns the hooks on for Cordon's shared engine, once: installs the agent if needed, plugs the
     * handler into the dispatcher and starts marking guest threads. Returns whether the network
     * gate is enforceable; {@link #unavailable()} says why not.
     */
    static synchronized boolean activate() {
        if (active) {
            return true;
        }
        if (!CordonAgent.ensureInstalled()) {
            unavailable = CordonAgent.failure();
            return false;
        }
        if (!CordonAgent.hooksInstalled()) {
            unavailable = CordonAgent.hooksFailure();
            return false;
        }
        try {
            GuestHooks.installNew(computeReadRoots(), classDirectories(), resourceRoots(), readHostName());
            Engine e = SharedEngine.get().engine();
            engine = e;
            var instrument = e.getInstruments().get(GuestThreadMarks.ID);
            Object marks = instrument == null ? null : instrument.lookup(GuestThreadMarks.Active.class);
            if (marks == null) {
                CordonHooks.install(null);
                unavailable = "Cordon's guest thread instrument (" + GuestThreadMarks.ID + ") did not load";
                return false;
            }
        } catch (RuntimeException | LinkageError e) {
            CordonHooks.install(null);
            unavailable = "cannot activate the host hooks: " + e;
            return false;
        }
        active = true;
        unavailable = null;
        return true;
    }

    static String unavailable() {
        return unavailable;
    }

    static boolean active() {
        return active;
    }

    static Engine engine() {
        return engine;
    }

    /**
     * The gate of the context the current thread runs guest code in; {@link NetworkGate#unattached()}
     * (denies everything) for any context no session is attached to; null when the thread is not
     * inside a context at all (host code between calls).
     *
     * <p>Only threads initialized in one of Cordon's contexts get here (the marks). Such a thread
     * inside a context that is not attached is denied even if that context belongs to another
     * engine: the polyglot API cannot tell engines apart from a running thread ({@code Engine} has
     * no identity across wrappers), and failing closed is the safe side. The embedding
     * application's own threads are never marked, so its own contexts are not affected.
     */
    static NetworkGate current() {
        Context c;
        try {
            c = Context.getCurrent();
        } catch (IllegalStateException e) {
            return null;
        }
        NetworkGate g = GATES.get(c);
        return g != null ? g : NetworkGate.unattached();
    }

    /**
     * What the JVM and the language runtime legitimately read on guest threads without a gate: the
     * JDK ({@code cacerts} for JSSE, {@code java.security}, time zones), class path jars (opened
     * lazily), Truffle's resource cache (GraalPy's language home: stdlib, built-in modules)
     * and the kernel's randomness devices (SecureRandom seeding). Read only; nothing anywhere may
     * be written, created or removed on a guest thread outside a gate.
     */
    private static List<String> computeReadRoots() {
        List<String> roots = new ArrayList<>();
        addRoot(roots, System.getProperty("java.home"));
        for (String e : classPath()) {
            if (!Files.isDirectory(Path.of(e))) {
                addRoot(roots, e); // a jar: opened lazily by class loading
                for (String dep : manifestClassPath(e)) {
                    addRoot(roots, dep); // `java -jar cordon.jar`: lib/*.jar come from its manifest
                }
            }
        }
        for (String r : resourceRoots()) {
            addRoot(roots, r);
        }
        addRoot(roots, System.getProperty("polyglot.engine.resourcePath"));
        addRoot(roots, System.getProperty("python.home"));
        roots.add("/dev/urandom");
        roots.add("/dev/random");
        return List.copyOf(roots);
    }

    private static List<String> classPath() {
        List<String> out = new ArrayList<>();
        for (String prop : List.of("java.class.path", "jdk.module.path", "jdk.module.upgrade.path")) {
            String cp = System.getProperty(prop);
            if (cp != null) {
                for (String e : cp.split(File.pathSeparator)) {
                    if (!e.isEmpty()) {
                        out.add(e);
                    }
                }
            }
        }
        return out;
    }

    /** The jars a jar's manifest {@code Class-Path} names (relative to the jar), as `java -jar` loads them. */
    private static List<String> manifestClassPath(String jar) {
        List<String> out = new ArrayList<>();
        try (java.util.jar.JarFile jf = new java.util.jar.JarFile(jar)) {
            java.util.jar.Manifest m = jf.getManifest();
            String cp = m == null ? null : m.getMainAttributes().getValue(java.util.jar.Attributes.Name.CLASS_PATH);
            if (cp != null) {
                Path dir = Path.of(jar).toAbsolutePath().getParent();
                for (String entry : cp.trim().split("\\s+")) {
                    if (!entry.isEmpty() && !entry.contains(":")) {
                        out.add(dir.resolve(entry).normalize().toString());
                    }
                }
            }
        } catch (IOException | InvalidPathException | SecurityException e) {
            // not a readable jar: nothing more to allow
        }
        return out;
    }

    /**
     * Class path directories (development and test runs): only class files and {@code META-INF}
     * resources may be read there on guest threads, so a configuration directory on an embedder's
     * class path does not become readable through a backend bypass.
     */
    static List<String> classDirectories() {
        List<String> dirs = new ArrayList<>();
        for (String e : classPath()) {
            try {
                if (Files.isDirectory(Path.of(e))) {
                    addRoot(dirs, e);
                }
            } catch (InvalidPathException ex) {
                // not a path: nothing to read there
            }
        }
        return List.copyOf(dirs);
    }

    /** Truffle's resource cache: where it unpacks language homes and native libraries. */
    static List<String> resourceRoots() {
        List<String> roots = new ArrayList<>();
        String cache = System.getProperty("polyglot.engine.userResourceCache");
        if (cache == null) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            cache = (xdg != null && !xdg.isEmpty() ? xdg : System.getProperty("user.home") + "/.cache")
                    + "/org.graalvm.polyglot";
        }
        addRoot(roots, cache);
        return List.copyOf(roots);
    }

    private static void addRoot(List<String> roots, String p) {
        if (p == null || p.isEmpty()) {
            return;
        }
        try {
            Path path = Path.of(p).toAbsolutePath().normalize();
            roots.add(path.toString());
            if (Files.exists(path)) {
                String real = path.toRealPath().toString();
                if (!roots.contains(real)) {
                    roots.add(real);
                }
            }
        } catch (IOException | InvalidPathException e) {
            // an entry that does not exist cannot be read either
        }
    }

    private static String readHostName() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.US_ASCII).trim();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

}
