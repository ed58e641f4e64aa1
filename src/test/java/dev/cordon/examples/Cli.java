package dev.cordon.examples;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The command line that runs the {@code cordon} CLI from this build, for tests that spawn it as a
 * real process (MCP over stdio, the Python client, the agent-loop example): this JVM's java, its
 * class path, and the JVM flags surefire gave it (pom.xml {@code cordon.test.jvmflags}).
 */
public final class Cli {

    private Cli() { }

    /** {@code java <flags> -cp <test class path> dev.cordon.cli.Main <args>}. */
    public static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(jvmFlags());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.cordon.cli.Main");
        cmd.addAll(List.of(args));
        return cmd;
    }

    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * The flags of pom.xml's {@code cordon.test.jvmflags}, read back from this JVM's arguments so the
     * list is kept in one place; anything else (an IDE's agent, debugger options) is left out.
     */
    public static List<String> jvmFlags() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:") || a.startsWith("-Xss") || a.startsWith("--enable-native-access")
                    || a.startsWith("--sun-misc-unsafe-memory-access") || a.startsWith("-Djdk.attach")) {
                out.add(a);
            }
        }
        return out;
    }

    /** The command as one POSIX shell string (for CORDON_COMMAND, which the Python client splits with shlex). */
    public static String shellQuoted(List<String> cmd) {
        return cmd.stream().map(a -> "'" + a.replace("'", "'\"'\"'") + "'").collect(Collectors.joining(" "));
    }

    /** The repository root (surefire sets {@code cordon.repo}; else the working directory). */
    public static Path repo() {
        String r = System.getProperty("cordon.repo");
        return Path.of(r == null ? "" : r).toAbsolutePath();
    }
}
