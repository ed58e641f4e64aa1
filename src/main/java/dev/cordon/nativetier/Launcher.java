package dev.cordon.nativetier;

import dev.cordon.policy.Policy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one place that starts sandboxed processes. Everything is prepared first (cgroups, the
 * seccomp program, the full argv from the pure builders); then one {@link ProcessBuilder#start()}.
 * Nothing here runs a command outside a sandbox: if the tier is unavailable the request is refused
 * before anything starts.
 */
final class Launcher {

    /**
     * One sandbox to start.
     *
     * @param ws        the session's workspace (uid, bind source, socket dir)
     * @param policy    the policy the sandbox enforces
     * @param argv      the command; argv[0] an absolute path inside the sandbox
     * @param cwd       working directory inside the sandbox
     * @param guestEnv  variables the guest asked for (filtered by {@link Specs#environment})
     * @param proxyPort in-sandbox port of the egress bridge, 0 for none
     * @param worker    the persistent Python worker (no per-process CPU limit, room for one more process)
     * @param masked    sandbox paths to cover with /dev/null (blocked commands)
     * @param in        stdin redirect
     * @param out       stdout redirect
     * @param err       stderr redirect
     * @param mergeErr  stderr into stdout
     */
    record Request(NativeWorkspace ws, Policy policy, List<String> argv, String cwd, Map<String, String> guestEnv,
                   int proxyPort, boolean worker, List<String> masked, ProcessBuilder.Redirect in,
                   ProcessBuilder.Redirect out, ProcessBuilder.Redirect err, boolean mergeErr) {
        Request {
            argv = List.copyOf(argv);
            masked = List.copyOf(masked);
        }
    }

    private final NativeTier tier;

    Launcher(NativeTier tier) {
        this.tier = tier;
    }

    Sandboxed start(Request r) throws IOException {
        tier.requireAvailable();
        return startUnchecked(r);
    }

    /** {@link #start} without the availability guard: only for the tier's own probe. */
    Sandboxed startUnchecked(Request r) throws IOException {
        Policy p = r.policy();
        Cgroups.Leaf leaf = null;
        Cgroups cg = tier.cgroups();
        if (cg.memory() || cg.pids() || cg.cpuAccounting() || cg.treeKill()) {
            leaf = cg.create(p.resources().maxMemoryMb() * 1024L * 1024L, Specs.maxPids(p, r.worker()));
        }
        try {
            List<String> argv = LaunchArgs.build(launchSpec(r, leaf));
            ProcessBuilder pb = new ProcessBuilder(argv);
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/bin:/bin");
            pb.directory(tier.config().stateDir().toFile());
            pb.redirectInput(r.in());
            pb.redirectOutput(r.out());
            pb.redirectError(r.err());
            pb.redirectErrorStream(r.mergeErr());
            return new Sandboxed(pb.start(), leaf);
        } catch (IOException | RuntimeException e) {
            if (leaf != null) {
                leaf.remove();
            }
            throw e;
        }
    }

    /** The full launch description of a request (no I/O beyond small host-file checks). */
    LaunchArgs.Spec launchSpec(Launcher.Request r, Cgroups.Leaf leaf) throws IOException {
        NativeWorkspace ws = r.ws();
        Policy p = r.policy();
        NativeConfig c = tier.config();
        HostLayout layout = tier.layout();
        TreeMap<String, String> etcOverrides = new TreeMap<>();
        etcOverrides.put("/etc/passwd", ws.passwdFile().toString());
        etcOverrides.put("/etc/group", ws.groupFile().toString());
        etcOverrides.put("/etc/hosts", ws.hostsFile().toString());
        TreeMap<String, String> roInWs = new TreeMap<>();
        // log_file, audit_file and the egress log (the escape corpus found audit_file writable here).
        for (String log : NativeWorkspace.protectedGuestFiles(p)) {
            Path hostLog = ws.toHostPath(log);
            if (hostLog != null && !Files.isSymbolicLink(hostLog)) {
                // The audit log is the host's: visible to guest code, never writable by it.
                if (!Files.exists(hostLog, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(hostLog.getParent());
                    Files.createFile(hostLog);
                }
                if (tier.root()) {
                    NativeWorkspace.chown(hostLog, 0, 0);
                }
                roInWs.put(hostLog.toString(), Path.of(log).normalize().toString());
            }
        }
        SandboxSpec spec = new SandboxSpec(layout.rootLinks, layout.rootDirs, layout.etcFiles, etcOverrides,
                ws.bindSource().toString(), p.filesystem().workspaceDir(), p.filesystem().writable(), roInWs,
                tier.libDir().toString(), ws.ioDir().toString(), r.masked(), c.tmpMb() * 1024L * 1024L, r.cwd(),
                Specs.environment(p, r.guestEnv(), r.proxyPort()), 3, r.argv());
        List<String> procs = leaf == null ? List.of() : leaf.procsFiles();
        return new LaunchArgs.Spec(c.shell().toString(), c.prlimit().toString(),
                tier.root() ? c.setpriv().toString() : null, c.bwrap().toString(),
                tier.seccompFile(r.proxyPort() > 0).toString(), new ArrayList<>(procs), Specs.limits(p, r.worker()),
                ws.uid(), ws.gid(), BwrapArgs.build(spec));
    }
}
