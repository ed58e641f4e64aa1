package dev.cordon.policy;

import java.util.List;

/**
 * Writes a {@link Policy} as canonical YAML: every key in schema order, defaults filled in, strings
 * double-quoted. Reading the output back with {@link PolicyLoader#parse} gives an equal policy
 * (tested), so it is what {@code cordon policy check} prints as "the effective policy".
 */
final class PolicyYaml {

    private PolicyYaml() { }

    static String write(Policy p) {
        StringBuilder b = new StringBuilder();
        b.append("execution:\n");
        line(b, 1, "engine", p.engine().yamlName());
        line(b, 1, "isolation", p.isolation().yamlName());
        b.append("  sandbox:\n");

        NetworkPolicy n = p.network();
        b.append("    network:\n");
        line(b, 3, "policy", n.mode().yamlName());
        if (n.allowlist().isEmpty()) {
            line(b, 3, "allowlist", "[]");
        } else {
            b.append("      allowlist:\n");
            for (NetworkPolicy.AllowEntry e : n.allowlist()) {
                b.append("        - ");
                if (e.domain() != null) {
                    b.append("domain: ").append(str(e.domain()));
                } else {
                    b.append("cidr: ").append(str(e.cidr().text()));
                }
                b.append('\n');
                if (!e.ports().isEmpty()) {
                    b.append("          ports: ").append(ints(e.ports())).append('\n');
                }
            }
        }
        line(b, 3, "allow_listen", n.allowListen());
        b.append("      logging:\n");
        line(b, 4, "egress", p.logging().egress());
        line(b, 4, "log_bodies", p.logging().logBodies());

        PackagesPolicy.Python py = p.packages().python();
        b.append("    packages:\n      python:\n");
        line(b, 4, "preinstalled", strs(py.preinstalled()));
        line(b, 4, "allow_install", py.allowInstall());
        line(b, 4, "approved_packages", strs(py.approvedPackages()));
        line(b, 4, "index_url", py.indexUrl() == null ? "null" : str(py.indexUrl().toString()));

        FilesystemPolicy f = p.filesystem();
        b.append("    filesystem:\n");
        line(b, 3, "workspace_dir", str(f.workspaceDir()));
        line(b, 3, "writable", f.writable());
        line(b, 3, "max_size_mb", f.maxSizeMb());
        line(b, 3, "persist_across_calls", f.persistAcrossCalls());
        line(b, 3, "upload_dir", str(f.uploadDir()));
        line(b, 3, "output_dir", str(f.outputDir()));

        SubprocessPolicy s = p.subprocess();
        b.append("    subprocess:\n");
        line(b, 3, "allow", s.allow());
        line(b, 3, "allowed_commands", strs(s.allowedCommands()));
        line(b, 3, "blocked_commands", strs(s.blockedCommands()));
        line(b, 3, "max_runtime_seconds", s.maxRuntimeSeconds());

        ResourcesPolicy r = p.resources();
        b.append("    resources:\n");
        line(b, 3, "max_memory_mb", r.maxMemoryMb());
        line(b, 3, "max_cpu_seconds", r.maxCpuSeconds());
        line(b, 3, "max_output_size_mb", r.maxOutputSizeMb());
        line(b, 3, "max_processes", r.maxProcesses());
        line(b, 3, "max_wall_seconds", r.maxWallSeconds());

        LoggingPolicy l = p.logging();
        b.append("    logging:\n");
        line(b, 3, "level", l.level().yamlName());
        line(b, 3, "log_blocked_operations", l.logBlockedOperations());
        line(b, 3, "log_file", nullable(l.logFile()));
        line(b, 3, "audit_file", nullable(l.auditFile()));
        line(b, 3, "egress_file", nullable(l.egressFile()));
        return b.toString();
    }

    private static void line(StringBuilder b, int depth, String key, Object value) {
        b.append("  ".repeat(depth)).append(key).append(": ").append(value).append('\n');
    }

    static String nullable(String s) {
        return s == null ? "null" : str(s);
    }

    static String strs(List<String> l) {
        StringBuilder b = new StringBuilder("[");
        for (String s : l) {
            if (b.length() > 1) {
                b.append(", ");
            }
            b.append(str(s));
        }
        return b.append(']').toString();
    }

    static String ints(List<Integer> l) {
        StringBuilder b = new StringBuilder("[");
        for (Integer i : l) {
            if (b.length() > 1) {
                b.append(", ");
            }
            b.append(i);
        }
        return b.append(']').toString();
    }

    /** A double-quoted YAML string (the JSON escapes are valid YAML). */
    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
