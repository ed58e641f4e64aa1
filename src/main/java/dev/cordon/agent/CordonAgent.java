package dev.cordon.agent;

import dev.cordon.agent.boot.CordonHooks;
import java.io.File;
import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.dynamic.loading.ClassInjector;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.matcher.ElementMatchers;
import net.bytebuddy.utility.JavaModule;

/**
 * Cordon's Java agent: host-side hooks on the Java layer that GraalPy's emulated POSIX backend
 * calls. Guest code cannot reach or undo them: they live in the JVM's bytecode, not in Python.
 *
 * <p>Installed by {@code -javaagent:cordon.jar} (the launcher {@code bin/cordon} does this) or, for
 * embedders, by self-attach on first use ({@link #ensureInstalled()}), which needs the JVM flags
 * {@code -XX:+EnableDynamicAgentLoading -Djdk.attach.allowAttachSelf=true} to be quiet and fast
 * (~0.4 s). Installing twice is harmless.
 *
 * <p>Hooks installed here:
 * <ul>
 *   <li>{@link GuestErrnoAdvice}: lets a gate's denial reach Python as the right {@code OSError}
 *       subclass (PermissionError, ENOSPC ...) with Cordon's actionable message instead of GraalPy's
 *       generic {@code [Errno 5]}.</li>
 *   <li>{@link GaiMessageAdvice}: puts Cordon's message into the {@code socket.gaierror} of a
 *       refused name lookup.</li>
 *   <li>The host hooks ({@link HookAdvice}) on JDK networking, name resolution, file opens and
 *       process starts, which forward to {@link CordonHooks} in the bootstrap class loader. They do
 *       nothing until the network gate installs its handler ({@code dev.cordon.net}), and then
 *       only on threads that run inside Cordon's contexts. {@link #hooksInstalled()} says whether
 *       every one of them is in place; when one is missing none can be trusted, and the network
 *       gate reports itself unavailable (callers then turn host sockets off: fail closed).</li>
 * </ul>
 */
public final class CordonAgent {

    private static volatile Instrumentation instrumentation;
    private static volatile String failure;
    private static volatile String hooksFailure;
    private static volatile boolean hooksInstalled;

    private CordonAgent() { }

    public static void premain(String args, Instrumentation inst) {
        install(inst);
    }

    public static void agentmain(String args, Instrumentation inst) {
        install(inst);
    }

    /**
     * Installs the agent into this JVM if it is not installed yet.
     *
     * @return whether the hooks are active; when false, {@link #failure()} says why
     */
    public static synchronized boolean ensureInstalled() {
        if (instrumentation != null) {
            return true;
        }
        if (failure != null) {
            return false;
        }
        try {
            install(ByteBuddyAgent.install());
        } catch (RuntimeException | LinkageError e) {
            failure = "cannot self-attach Cordon's Java agent (" + e.getMessage() + "); start the JVM with "
                    + "-javaagent:cordon.jar or with -XX:+EnableDynamicAgentLoading -Djdk.attach.allowAttachSelf=true";
        }
        return instrumentation != null;
    }

    /** Whether the agent is installed (at least the errno bridge). */
    public static boolean installed() {
        return instrumentation != null;
    }

    /**
     * Whether every host hook (network, name resolution, file and process tripwire) is in place.
     * False when the agent is not installed or any hook could not be applied.
     */
    public static boolean hooksInstalled() {
        return hooksInstalled;
    }

    /** Why the host hooks are not in place, or null. */
    public static String hooksFailure() {
        if (instrumentation == null) {
            return failure != null ? failure : "Cordon's Java agent is not installed";
        }
        return hooksFailure;
    }

    /** Why the agent could not be installed, or null. */
    public static String failure() {
        return failure;
    }

    /** The instrumentation the agent was installed with, or null. */
    public static Instrumentation instrumentation() {
        return instrumentation;
    }

    /** One hooked method: declaring class, name, parameter types (Class.getName() form), advice. */
    private record Hook(String type, String method, List<String> params, Class<?> advice) {
        Hook(String type, String method, Class<?> advice, String... params) {
            this(type, method, List.of(params), advice);
        }

        /**
         * Matches by name and JVM descriptor (unambiguous, unlike source names of array and nested
         * types) and records each match, so the agent can prove every hook landed.
         */
        ElementMatcher<MethodDescription> matcher(Set<Hook> matched) {
            String descriptor = descriptor();
            return m -> {
                boolean match = m.getInternalName().equals(method) && m.getDescriptor().startsWith(descriptor);
                if (match) {
                    matched.add(this);
                }
                return match;
            };
        }

        /** The descriptor of the parameters, any return type. */
        private String descriptor() {
            StringBuilder b = new StringBuilder("(");
            for (String p : params) {
                b.append(switch (p) {
                    case "int" -> "I";
                    case "boolean" -> "Z";
                    case "long" -> "J";
                    default -> p.startsWith("[") ? p.replace('.', '/') : "L" + p.replace('.', '/') + ";";
                });
            }
            return b.append(')').toString();
        }
    }

    private static final String SA = "java.net.SocketAddress";
    private static final String BB = "java.nio.ByteBuffer";
    private static final String BBS = "[Ljava.nio.ByteBuffer;";
    private static final String PATH = "java.nio.file.Path";

    /** Every host hook. All of them must apply, or none is trusted (see {@link #hooksInstalled()}). */
    private static final List<Hook> HOOKS = List.of(
            new Hook("sun.nio.ch.SocketChannelImpl", "connect", HookAdvice.TcpConnect.class, SA),
            new Hook("sun.nio.ch.SocketChannelImpl", "bind", HookAdvice.TcpBind.class, SA),
            new Hook("sun.nio.ch.SocketChannelImpl", "read", HookAdvice.Read.class, BB),
            new Hook("sun.nio.ch.SocketChannelImpl", "read", HookAdvice.ReadVector.class, BBS, "int", "int"),
            new Hook("sun.nio.ch.SocketChannelImpl", "write", HookAdvice.Write.class, BB),
            new Hook("sun.nio.ch.SocketChannelImpl", "write", HookAdvice.WriteVector.class, BBS, "int", "int"),
            new Hook("sun.nio.ch.SocketChannelImpl", "implCloseSelectableChannel", HookAdvice.Close.class),
            new Hook("sun.nio.ch.ServerSocketChannelImpl", "bind", HookAdvice.ListenBind.class, SA, "int"),
            new Hook("sun.nio.ch.ServerSocketChannelImpl", "finishAccept", HookAdvice.Accept.class,
                    "java.io.FileDescriptor", SA),
            new Hook("sun.nio.ch.ServerSocketChannelImpl", "implCloseSelectableChannel", HookAdvice.Close.class),
            new Hook("sun.nio.ch.DatagramChannelImpl", "connect", HookAdvice.UdpConnect.class, SA, "boolean"),
            new Hook("sun.nio.ch.DatagramChannelImpl", "bind", HookAdvice.UdpBind.class, SA),
            new Hook("sun.nio.ch.DatagramChannelImpl", "send", HookAdvice.UdpSend.class, BB, SA),
            new Hook("sun.nio.ch.DatagramChannelImpl", "receive", HookAdvice.UdpReceive.class, BB),
            new Hook("sun.nio.ch.DatagramChannelImpl", "read", HookAdvice.Read.class, BB),
            new Hook("sun.nio.ch.DatagramChannelImpl", "read", HookAdvice.ReadVector.class, BBS, "int", "int"),
            new Hook("sun.nio.ch.DatagramChannelImpl", "write", HookAdvice.Write.class, BB),
            new Hook("sun.nio.ch.DatagramChannelImpl", "write", HookAdvice.WriteVector.class, BBS, "int", "int"),
            new Hook("sun.nio.ch.DatagramChannelImpl", "implCloseSelectableChannel", HookAdvice.Close.class),
            new Hook("sun.nio.ch.NioSocketImpl", "connect", HookAdvice.SocketImplConnect.class, SA, "int"),
            new Hook("sun.nio.ch.NioSocketImpl", "listen", HookAdvice.SocketImplListen.class, "int"),
            new Hook("java.net.InetAddress", "getAllByName", HookAdvice.Resolve.class, "java.lang.String"),
            new Hook("java.net.InetAddress", "getAddressesFromNameService", HookAdvice.NameService.class,
                    "java.lang.String"),
            new Hook("java.net.InetAddress", "getHostFromNameService", HookAdvice.Reverse.class,
                    "java.net.InetAddress"),
            new Hook("sun.nio.fs.UnixChannelFactory", "newFileChannel", HookAdvice.NioOpen.class,
                    "int", "sun.nio.fs.UnixPath", "java.util.Set", "int"),
            new Hook("sun.nio.fs.UnixChannelFactory", "newAsynchronousFileChannel", HookAdvice.NioOpenAsync.class,
                    "sun.nio.fs.UnixPath", "java.util.Set", "int", "sun.nio.ch.ThreadPool"),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "newDirectoryStream", HookAdvice.NioList.class,
                    PATH, "java.nio.file.DirectoryStream$Filter"),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "implDelete", HookAdvice.NioMutate.class, PATH, "boolean"),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "createDirectory", HookAdvice.NioMutate.class,
                    PATH, "[Ljava.nio.file.attribute.FileAttribute;"),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "createSymbolicLink", HookAdvice.NioMutate.class,
                    PATH, PATH, "[Ljava.nio.file.attribute.FileAttribute;"),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "createLink", HookAdvice.NioMutate.class, PATH, PATH),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "copy", HookAdvice.NioCopyMove.class,
                    PATH, PATH, "[Ljava.nio.file.CopyOption;"),
            new Hook("sun.nio.fs.UnixFileSystemProvider", "move", HookAdvice.NioCopyMove.class,
                    PATH, PATH, "[Ljava.nio.file.CopyOption;"),
            new Hook("java.io.FileInputStream", "open", HookAdvice.IoRead.class, "java.lang.String"),
            new Hook("java.io.FileOutputStream", "open", HookAdvice.IoWrite.class, "java.lang.String", "boolean"),
            new Hook("java.io.RandomAccessFile", "open", HookAdvice.IoRandomAccess.class, "java.lang.String", "int"),
            new Hook("java.io.UnixFileSystem", "delete", HookAdvice.IoMutate.class, "java.io.File"),
            new Hook("java.io.UnixFileSystem", "createDirectory", HookAdvice.IoMutate.class, "java.io.File"),
            new Hook("java.io.UnixFileSystem", "createFileExclusively", HookAdvice.IoMutate.class, "java.lang.String"),
            new Hook("java.io.UnixFileSystem", "rename", HookAdvice.IoRename.class, "java.io.File", "java.io.File"),
            new Hook("java.io.UnixFileSystem", "list", HookAdvice.IoList.class, "java.io.File"),
            new Hook("java.lang.ProcessImpl", "start", HookAdvice.ProcessStart.class,
                    "[Ljava.lang.String;", "java.util.Map", "java.lang.String",
                    "[Ljava.lang.ProcessBuilder$Redirect;", "boolean"));

    private static final List<String> BOOT_CLASSES = List.of(
            "dev.cordon.agent.boot.CordonHooks",
            "dev.cordon.agent.boot.CordonHooks$ThreadState",
            "dev.cordon.agent.boot.CordonHooks$Handler");

    private static synchronized void install(Instrumentation inst) {
        if (instrumentation != null) {
            return;
        }
        String hookProblem = null;
        try {
            hookProblem = prepareHooks(inst);
        } catch (IOException | RuntimeException | LinkageError e) {
            hookProblem = "cannot prepare the host hooks: " + e;
        }
        Set<String> transformed = ConcurrentHashMap.newKeySet();
        Set<Hook> matched = ConcurrentHashMap.newKeySet();
        List<String> errors = new ArrayList<>();
        AgentBuilder builder = new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                // The default ignores bootstrap classes; the hooks live in exactly those.
                .ignore(ElementMatchers.nameStartsWith("net.bytebuddy.")
                        .or(ElementMatchers.nameStartsWith("dev.cordon.")))
                .with(new AgentBuilder.Listener.Adapter() {
                    @Override
                    public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module,
                            boolean loaded, DynamicType dynamicType) {
                        transformed.add(type.getName());
                    }

                    @Override
                    public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded,
                            Throwable throwable) {
                        synchronized (errors) {
                            errors.add(typeName + ": " + throwable);
                        }
                    }
                })
                .type(ElementMatchers.named(GuestErrnoAdvice.TARGET))
                .transform((b, type, loader, module, domain) -> b.visit(
                        Advice.to(GuestErrnoAdvice.class).on(ElementMatchers.named("fromException"))))
                .type(ElementMatchers.named(StrerrorAdvice.TARGET))
                .transform((b, type, loader, module, domain) -> b.visit(
                        Advice.to(StrerrorAdvice.class).on(ElementMatchers.named("getStrError"))))
                .type(ElementMatchers.named(GaiMessageAdvice.TARGET))
                .transform((b, type, loader, module, domain) -> b.visit(
                        Advice.to(GaiMessageAdvice.class).on(ElementMatchers.named("gaiError")
                                .and(ElementMatchers.takesArguments(int.class)))));
        if (hookProblem == null) {
            Map<String, List<Hook>> byType = new java.util.LinkedHashMap<>();
            for (Hook h : HOOKS) {
                byType.computeIfAbsent(h.type(), k -> new ArrayList<>()).add(h);
            }
            for (Map.Entry<String, List<Hook>> e : byType.entrySet()) {
                List<Hook> hooks = e.getValue();
                builder = builder.type(ElementMatchers.named(e.getKey()))
                        .transform((b, type, loader, module, domain) -> {
                            for (Hook h : hooks) {
                                AsmVisitorWrapper w = Advice.to(h.advice()).on(h.matcher(matched));
                                b = b.visit(w);
                            }
                            return b;
                        });
            }
        }
        builder.installOn(inst);
        instrumentation = inst;
        if (hookProblem == null) {
            List<String> missing = new ArrayList<>();
            for (Hook h : HOOKS) {
                if (!transformed.contains(h.type()) || !matched.contains(h)) {
                    missing.add(h.type() + "." + h.method() + h.descriptor());
                }
            }
            if (!errors.isEmpty()) {
                hookProblem = "host hooks failed to apply: " + errors;
            } else if (!missing.isEmpty()) {
                hookProblem = "host hooks not applied to " + new java.util.TreeSet<>(missing);
            }
        }
        hooksFailure = hookProblem;
        hooksInstalled = hookProblem == null;
    }

    /**
     * Injects {@link CordonHooks} into the bootstrap loader, checks every hooked method exists with
     * the expected signature (a JDK update that renames one must not silently leave a hole), loads
     * the hooked classes so they are transformed now, and lets their modules read the dispatcher.
     *
     * @return null when ready, else why the hooks cannot be trusted
     */
    private static String prepareHooks(Instrumentation inst) throws IOException {
        ClassLoader own = CordonAgent.class.getClassLoader();
        ClassFileLocator bytes = ClassFileLocator.ForClassLoader.of(own);
        ClassInjector.UsingUnsafe.Factory unsafe = ClassInjector.UsingUnsafe.Factory.resolve(inst);
        if (unsafe.isAvailable()) {
            // Defines the classes in the bootstrap loader directly: unlike appending a jar to its
            // search path, this leaves class-data sharing on (and the JVM quiet about it).
            unsafe.make(null).injectRaw(new java.util.LinkedHashSet<>(BOOT_CLASSES), bytes);
        } else {
            File dir = Files.createTempDirectory("cordon-boot").toFile();
            dir.deleteOnExit();
            ClassInjector.UsingInstrumentation.of(dir, ClassInjector.UsingInstrumentation.Target.BOOTSTRAP, inst)
                    .injectRaw(Set.copyOf(BOOT_CLASSES), bytes);
            File[] jars = dir.listFiles();
            for (File f : jars == null ? new File[0] : jars) {
                f.deleteOnExit();
            }
        }
        Class<?> hooks;
        try {
            hooks = Class.forName(BOOT_CLASSES.get(0), true, null);
            for (String name : BOOT_CLASSES) {
                Class<?> seen = Class.forName(name, false, own);
                if (seen.getClassLoader() != null) {
                    return name + " was loaded by " + seen.getClassLoader()
                            + " before the agent injected it into the bootstrap loader";
                }
            }
        } catch (ClassNotFoundException e) {
            return "the hook dispatcher is not visible from the bootstrap loader: " + e.getMessage();
        }
        Set<Module> modules = new java.util.HashSet<>();
        for (Hook h : HOOKS) {
            Class<?> type;
            try {
                type = Class.forName(h.type(), false, null);
            } catch (ClassNotFoundException e) {
                return "hooked class " + h.type() + " does not exist in this JDK";
            }
            if (!hasMethod(type, h)) {
                return "hooked method " + h.type() + "." + h.method() + h.params() + " does not exist in this JDK ("
                        + System.getProperty("java.version") + ")";
            }
            modules.add(type.getModule());
        }
        for (String graalPy : List.of(GuestErrnoAdvice.TARGET, GaiMessageAdvice.TARGET, StrerrorAdvice.TARGET)) {
            try {
                modules.add(Class.forName(graalPy, false, own).getModule());
            } catch (ClassNotFoundException e) {
                // GraalPy is not on this class path: nothing of it to hook.
            }
        }
        for (Module m : modules) {
            if (m.isNamed() && inst.isModifiableModule(m)) {
                inst.redefineModule(m, Set.of(hooks.getModule()), Map.of(), Map.of(), Set.of(), Map.of());
            }
        }
        return null;
    }

    private static boolean hasMethod(Class<?> type, Hook h) {
        for (java.lang.reflect.Method m : type.getDeclaredMethods()) {
            if (m.getName().equals(h.method()) && m.getParameterCount() == h.params().size()) {
                Class<?>[] p = m.getParameterTypes();
                boolean same = true;
                for (int i = 0; i < p.length && same; i++) {
                    same = p[i].getName().equals(h.params().get(i));
                }
                if (same) {
                    return true;
                }
            }
        }
        return false;
    }
}
