package dev.cordon.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cordon}: the command-line client of the Java API. Exit codes are in {@link ExitCodes}. */
@Command(name = "cordon", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runs untrusted Python tool code for AI agents under an openclaw.exec.yaml execution policy.",
        subcommands = {ExecCommand.class, ServeCommand.class, PolicyCommand.class, InitCommand.class,
                DescribeCommand.class, McpCommand.class, LearnCommand.class, AuditCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 success, 1 guest code raised, 2 usage or invalid policy, 3 a limit was hit."})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code = run(args);
        System.out.flush();
        System.err.flush();
        // Guest threads that ignored interruption may still run; they must not keep the process alive,
        // and Truffle's shutdown hooks must not wait for them.
        Thread halter = new Thread(() -> {
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                return;
            }
            Runtime.getRuntime().halt(code);
        });
        halter.setDaemon(true);
        halter.start();
        System.exit(code);
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExitCodeExceptionMapper(t -> ExitCodes.USAGE);
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("cordon: " + ex.getMessage());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return ExitCodes.USAGE;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"cordon " + (v == null ? "dev" : v) + " (GraalPy 25.0.3, Java "
                    + Runtime.version() + ")"};
        }
    }
}
