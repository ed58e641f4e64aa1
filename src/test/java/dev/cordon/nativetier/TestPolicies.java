package dev.cordon.nativetier;

import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.PackagesPolicy;
import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import dev.cordon.policy.SubprocessPolicy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Policies and sinks the native-tier tests share. */
final class TestPolicies {

    private TestPolicies() { }

    /** A sink that keeps every denial. */
    static final class Recorder implements DenialSink {
        final List<Decision.Deny> denials = new CopyOnWriteArrayList<>();

        @Override
        public void blocked(Decision.Deny deny) {
            denials.add(deny);
        }

        List<String> lines() {
            return denials.stream().map(Decision.Deny::blockedLine).toList();
        }
    }

    static Policy commands(List<String> allowed, List<String> blocked) {
        return Policy.DEFAULT
                .withSubprocess(new SubprocessPolicy(true, allowed, blocked, 30))
                .withResources(new ResourcesPolicy(256, 10, 1, 4, 30))
                .withFilesystem(new FilesystemPolicy("/workspace", true, 64, true, "/workspace/uploads",
                        "/workspace/outputs"));
    }

    static Policy dataAgent() {
        return new Policy(null, Policy.EngineKind.NATIVE, Policy.Isolation.IN_PROCESS, NetworkPolicy.DENY_ALL,
                PackagesPolicy.NONE,
                new FilesystemPolicy("/workspace", true, 128, true, "/workspace/uploads", "/workspace/outputs"),
                new SubprocessPolicy(true, List.of("python", "head", "wc"), List.of("rm", "curl"), 30),
                new ResourcesPolicy(512, 20, 2, 2, 30), LoggingPolicy.DEFAULT);
    }
}
