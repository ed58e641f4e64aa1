package dev.cordon.learn;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders learn's changes as a YAML fragment with the policy file's structure, to be merged by
 * hand: maps merge key by key, list entries are appended to the existing list, scalars replace the
 * old value. Every addition carries a {@code # review:} comment saying what the script did and what
 * the value was. Strings are double-quoted (JSON escapes are valid YAML), so no guest-chosen name
 * can change the structure.
 */
final class ProposalYaml {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ProposalYaml() { }

    record Rendered(String yaml, List<String> additions, List<String> refusals) { }

    static Rendered render(Changes ch, Policy real, String policyName, String scriptName, int runs, boolean verified,
            String lastStatus) {
        StringBuilder y = new StringBuilder();
        List<String> additions = new ArrayList<>();
        y.append("# cordon learn: what ").append(policyName).append(" would need for ").append(scriptName)
                .append(" (").append(runs).append(runs == 1 ? " run" : " runs").append(").\n");
        if (verified) {
            y.append("# Verified: the last run used exactly this policy plus these additions, and nothing was blocked")
                    .append(" (status ").append(lastStatus).append(").\n");
        } else {
            y.append("# NOT verified: the last run was not clean under exactly these additions (see the end).\n");
        }
        y.append("# Nothing was changed. Review every line marked \"review\", then merge what you accept into ")
                .append(policyName).append(" yourself\n# (append list entries to the existing lists).\n");

        StringBuilder net = new StringBuilder();
        NetworkPolicy rn = real.network();
        if (ch.mode != rn.mode()) {
            net.append("      policy: ").append(ch.mode.yamlName()).append("  # review: was ").append(rn.mode().yamlName())
                    .append("; restricted allows only the allowlist below\n");
            additions.add("network.policy: " + ch.mode.yamlName());
        }
        if (ch.allowListen != rn.allowListen()) {
            net.append("      allow_listen: true  # review: ").append(comment(ch.knobEvidence.get("network.allow_listen")))
                    .append("; listening is then allowed on loopback only\n");
            additions.add("network.allow_listen: true");
        }
        if (!ch.entries.isEmpty()) {
            net.append("      allowlist:\n");
            for (Changes.Entry e : ch.entries.values()) {
                String what = e.domain != null ? "domain: " + q(e.domain) : "cidr: " + q(e.cidr);
                String ports = e.ports.stream().map(String::valueOf).collect(Collectors.joining(", "));
                net.append("        # review: ").append(comment(String.join("; ", e.evidence)));
                if (e.placeholder) {
                    net.append("; the script only looked the name up, so the port is a guess");
                }
                net.append('\n');
                net.append("        - ").append(what).append('\n');
                net.append("          ports: [").append(e.placeholder ? "443" : ports).append("]\n");
                additions.add("network.allowlist: {" + what + ", ports: [" + (e.placeholder ? "443" : ports) + "]}");
            }
        }

        StringBuilder fs = new StringBuilder();
        if (ch.writable != real.filesystem().writable()) {
            fs.append("      writable: true  # review: was false; ").append(comment(ch.knobEvidence.get("filesystem.writable")))
                    .append('\n');
            additions.add("filesystem.writable: true");
        }
        if (ch.maxSizeMb != real.filesystem().maxSizeMb()) {
            fs.append("      max_size_mb: ").append(ch.maxSizeMb).append("  # review: was ")
                    .append(real.filesystem().maxSizeMb()).append("; ")
                    .append(comment(ch.knobEvidence.get("filesystem.max_size_mb"))).append('\n');
            additions.add("filesystem.max_size_mb: " + ch.maxSizeMb);
        }

        StringBuilder sp = new StringBuilder();
        if (ch.subprocessAllow != real.subprocess().allow()) {
            sp.append("      allow: true  # review: was false; every command still needs its own entry\n");
            additions.add("subprocess.allow: true");
        }
        if (!ch.commands.isEmpty()) {
            sp.append("      allowed_commands:\n");
            for (String c : ch.commands) {
                sp.append("        - ").append(q(c)).append("  # review: ").append(comment(ch.commandEvidence.get(c)));
                if (dev.cordon.decision.ExecDecisions.warnings(new dev.cordon.policy.SubprocessPolicy(true,
                        List.of(c), List.of(), 30)).size() > 0) {
                    sp.append("; CAUTION: ").append(c).append(" can start other programs (see cordon policy check)");
                }
                sp.append('\n');
                additions.add("subprocess.allowed_commands: " + c);
            }
        }
        if (ch.maxRuntime != real.subprocess().maxRuntimeSeconds()) {
            sp.append("      max_runtime_seconds: ").append(ch.maxRuntime).append("  # review: was ")
                    .append(real.subprocess().maxRuntimeSeconds()).append("; ")
                    .append(comment(ch.knobEvidence.get("subprocess.max_runtime_seconds"))).append('\n');
            additions.add("subprocess.max_runtime_seconds: " + ch.maxRuntime);
        }

        StringBuilder rs = new StringBuilder();
        for (Changes.Knob k : ch.knobs()) {
            String key = k.path().substring("resources.".length());
            rs.append("      ").append(key).append(": ").append(k.to()).append("  # review: was ").append(k.from())
                    .append("; ").append(comment(k.evidence())).append("; ").append(k.to()).append(" worked\n");
            additions.add(k.path() + ": " + k.to());
        }

        if (net.length() + fs.length() + sp.length() + rs.length() == 0) {
            y.append("# No additions: the policy already allows everything the script did.\n");
        } else {
            y.append("execution:\n  sandbox:\n");
            section(y, "network", net);
            section(y, "filesystem", fs);
            section(y, "subprocess", sp);
            section(y, "resources", rs);
        }
        List<String> refusals = new ArrayList<>();
        if (!ch.refusals.isEmpty()) {
            y.append("#\n# Not allowed by any addition (change the script, or the host):\n");
            for (Changes.Refusal r : ch.refusals.values()) {
                String line = r.what() + " (" + r.rule() + "): " + r.reason() + ". " + r.fix();
                refusals.add(line);
                y.append("#   - ").append(comment(line)).append('\n');
            }
        }
        return new Rendered(y.toString(), additions, refusals);
    }

    private static void section(StringBuilder y, String name, StringBuilder body) {
        if (body.length() > 0) {
            y.append("    ").append(name).append(":\n").append(body);
        }
    }

    /** A double-quoted YAML scalar. */
    static String q(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Comment text on one line: guest-chosen targets must not end the comment and start YAML. */
    static String comment(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }
}
