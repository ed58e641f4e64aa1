package dev.cordon.cli;

import dev.cordon.policy.Policy;
import dev.cordon.selfaudit.SelfAudit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "audit", mixinStandardHelpOptions = true,
        header = "Tries escapes against a policy and prints each as HELD or NOT HELD.",
        description = {"Runs a built-in battery of escape attempts against the policy and prints",
                "each as HELD or NOT HELD, with what the host observed from outside.",
                "",
                "filesystem  a canary outside the workspace: read, '..', links out (made",
                "            and planted); writes outside; tampering with Cordon's logs",
                "network     a loopback listener no allowlist entry grants (socket, urllib,",
                "            asyncio, odd IP forms), UDP, DNS of a name, listening",
                "processes   a command not allowed, a shell, a workspace file named like",
                "            an allowed command",
                "limits      endless loop, unbounded memory, output flood, long sleep",
                "host        import java, polyglot.eval, __graalpython__ builtins,",
                "            os._exit and signals",
                "",
                "Tiers: the in-JVM tier always; the native engine and a sandboxed python3",
                "subprocess when the policy uses them. Verdicts rest on what the host sees",
                "(canary bytes, files, listener and resolver counts, timings), never on",
                "what guest code reports. The limit checks wait for the policy's own",
                "limits: a run takes about max_wall_seconds."},
        footer = {"", "Exit codes: 0 every check held (or was skipped), 1 at least one NOT HELD,",
                "2 usage or invalid policy."})
final class AuditCommand implements Callable<Integer> {

    @Mixin
    PolicyOptions policy;

    @Option(names = "--scratch", paramLabel = "DIR",
            description = "Where the canary, the outside directory and the workspaces go (removed afterwards). "
                    + "Default: /var/tmp, else ~/.cache/cordon. Not under /tmp: both tiers give guest code a private /tmp.")
    Path scratch;

    @Option(names = "--no-limits", description = "Skip the limit checks (they take about max_wall_seconds).")
    boolean noLimits;

    @Option(names = "--only", paramLabel = "PREFIX", split = ",",
            description = "Run only checks whose id starts with PREFIX (e.g. net., proc.shell); repeatable.")
    List<String> only = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        Policy p = policy.loadOrReport(System.err);
        if (p == null) {
            return ExitCodes.USAGE;
        }
        System.out.println("cordon audit: running the battery (progress below; the limit checks come last)");
        SelfAudit.Report r = SelfAudit.run(p, new SelfAudit.Options(scratch, !noLimits, Set.copyOf(only), System.out));
        System.out.println();
        System.out.print(r.summary());
        System.out.flush();
        return r.allHeld() ? ExitCodes.OK : ExitCodes.GUEST_ERROR;
    }
}
