package dev.cordon.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyOrderTest {

    private static Policy p(String sandboxYaml) throws PolicyException {
        StringBuilder b = new StringBuilder("execution:\n  sandbox:\n");
        sandboxYaml.lines().forEach(l -> b.append("    ").append(l).append('\n'));
        return PolicyLoader.parse(b.toString(), "test");
    }

    private static Policy net(String allowlist) throws PolicyException {
        return p("network: {policy: restricted, allowlist: " + allowlist + "}");
    }

    @Test
    void networkModesAreOrdered() throws Exception {
        Policy deny = Policy.DEFAULT;
        Policy restricted = net("[{domain: a.example, ports: [443]}]");
        Policy permissive = p("network: {policy: permissive}");
        assertTrue(PolicyOrder.allowsSubsetOf(deny, restricted));
        assertTrue(PolicyOrder.allowsSubsetOf(restricted, permissive));
        assertTrue(PolicyOrder.allowsSubsetOf(deny, permissive));
        assertFalse(PolicyOrder.allowsSubsetOf(permissive, restricted));
        assertFalse(PolicyOrder.allowsSubsetOf(restricted, deny));
        assertEquals(List.of("network.allowlist[0]: a.example ports [443]"), PolicyOrder.excess(restricted, deny));
    }

    @Test
    void wildcardsCoverSubdomainsButNotTheApex() throws Exception {
        Policy wild = net("[{domain: '*.example.com', ports: [443]}]");
        assertTrue(PolicyOrder.allowsSubsetOf(net("[{domain: api.example.com, ports: [443]}]"), wild));
        assertTrue(PolicyOrder.allowsSubsetOf(net("[{domain: a.b.example.com, ports: [443]}]"), wild));
        assertTrue(PolicyOrder.allowsSubsetOf(net("[{domain: '*.b.example.com', ports: [443]}]"), wild));
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{domain: example.com, ports: [443]}]"), wild));
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{domain: badexample.com, ports: [443]}]"), wild));
        assertFalse(PolicyOrder.allowsSubsetOf(wild, net("[{domain: api.example.com, ports: [443]}]")));
    }

    @Test
    void portsAreCoveredPortByPortAcrossEntries() throws Exception {
        Policy both = net("[{domain: a.example, ports: [80, 443]}]");
        Policy split = net("[{domain: a.example, ports: [80]}, {domain: '*.example', ports: [443]}, {domain: a.example, ports: [443]}]");
        assertTrue(PolicyOrder.allowsSubsetOf(both, split));
        Policy only80 = net("[{domain: a.example, ports: [80]}]");
        assertEquals(List.of("network.allowlist[0]: a.example ports [443]"), PolicyOrder.excess(both, only80));
        Policy every = net("[{domain: a.example}]");
        assertTrue(PolicyOrder.allowsSubsetOf(both, every));
        assertEquals(List.of("network.allowlist[0]: a.example (every port)"), PolicyOrder.excess(every, both));
    }

    @Test
    void cidrsAreCoveredByContainingCidrsOnly() throws Exception {
        Policy wide = net("[{cidr: 10.0.0.0/8, ports: [5432]}]");
        assertTrue(PolicyOrder.allowsSubsetOf(net("[{cidr: 10.1.0.0/16, ports: [5432]}]"), wide));
        assertTrue(PolicyOrder.allowsSubsetOf(net("[{cidr: 10.1.2.3, ports: [5432]}]"), wide));
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{cidr: 11.0.0.0/16, ports: [5432]}]"), wide));
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{cidr: 0.0.0.0/0, ports: [5432]}]"), wide));
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{cidr: 'fd00::/16', ports: [5432]}]"), net("[{cidr: 0.0.0.0/0}]")));
        // A domain never covers an address, nor the reverse.
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{cidr: 10.1.2.3, ports: [443]}]"), net("[{domain: a.example}]")));
        assertFalse(PolicyOrder.allowsSubsetOf(net("[{domain: a.example, ports: [443]}]"), net("[{cidr: 0.0.0.0/0}]")));
    }

    @Test
    void listenIsAPermission() throws Exception {
        assertEquals(List.of("network.allow_listen: true"),
                PolicyOrder.excess(p("network: {allow_listen: true}"), Policy.DEFAULT));
    }

    @Test
    void packagesAndInstalls() throws Exception {
        Policy pandas = p("packages: {python: {preinstalled: [pandas]}}");
        Policy both = p("packages: {python: {preinstalled: [pandas, numpy]}}");
        assertTrue(PolicyOrder.allowsSubsetOf(pandas, both));
        assertFalse(PolicyOrder.allowsSubsetOf(both, pandas));
        Policy some = p("packages: {python: {allow_install: true, approved_packages: [plotly], index_url: 'https://pypi.org/simple/'}}");
        Policy any = p("packages: {python: {allow_install: true, index_url: 'https://pypi.org/simple/'}}");
        Policy otherIndex = p("packages: {python: {allow_install: true, index_url: 'https://mirror.example/simple/'}}");
        assertTrue(PolicyOrder.allowsSubsetOf(some, any));
        assertFalse(PolicyOrder.allowsSubsetOf(any, some));
        assertFalse(PolicyOrder.allowsSubsetOf(some, otherIndex));
        assertFalse(PolicyOrder.allowsSubsetOf(some, Policy.DEFAULT));
        assertTrue(PolicyOrder.allowsSubsetOf(Policy.DEFAULT, some));
    }

    @Test
    void filesystem() throws Exception {
        Policy ro = p("filesystem: {writable: false}");
        Policy persist = p("filesystem: {persist_across_calls: true}");
        Policy big = p("filesystem: {max_size_mb: 1024}");
        Policy elsewhere = p("filesystem: {workspace_dir: /data}");
        assertTrue(PolicyOrder.allowsSubsetOf(ro, Policy.DEFAULT));
        assertFalse(PolicyOrder.allowsSubsetOf(Policy.DEFAULT, ro));
        assertTrue(PolicyOrder.allowsSubsetOf(Policy.DEFAULT, persist));
        assertFalse(PolicyOrder.allowsSubsetOf(persist, Policy.DEFAULT));
        assertEquals(List.of("filesystem.max_size_mb: 1024 (the other is 256)"), PolicyOrder.excess(big, Policy.DEFAULT));
        assertFalse(PolicyOrder.allowsSubsetOf(elsewhere, Policy.DEFAULT));
        // Where uploads and outputs go is layout, not permission.
        assertTrue(PolicyOrder.allowsSubsetOf(p("filesystem: {upload_dir: in, output_dir: out}"), Policy.DEFAULT));
    }

    @Test
    void commandsCountOnlyWhenTheyCanStart() throws Exception {
        Policy headWc = p("subprocess: {allow: true, allowed_commands: [head, wc]}");
        Policy head = p("subprocess: {allow: true, allowed_commands: [head]}");
        Policy headBlocked = p("subprocess: {allow: true, allowed_commands: [head, wc], blocked_commands: [wc]}");
        Policy off = p("subprocess: {allow: false, allowed_commands: [head, wc, bash], max_runtime_seconds: 999}");
        assertTrue(PolicyOrder.allowsSubsetOf(head, headWc));
        assertFalse(PolicyOrder.allowsSubsetOf(headWc, head));
        assertTrue(PolicyOrder.allowsSubsetOf(headWc.withSubprocess(headBlocked.subprocess()), head));
        assertTrue(PolicyOrder.allowsSubsetOf(off, Policy.DEFAULT));
        assertEquals(List.of("subprocess.max_runtime_seconds: 60 (the other is 30)"), PolicyOrder.excess(
                p("subprocess: {allow: true, allowed_commands: [head], max_runtime_seconds: 60}"), head));
    }

    @Test
    void everyLimitCounts() throws Exception {
        for (String limit : List.of("max_memory_mb: 257", "max_cpu_seconds: 31", "max_output_size_mb: 2",
                "max_processes: 2", "max_wall_seconds: 61")) {
            Policy more = p("resources: {" + limit + "}");
            assertFalse(PolicyOrder.allowsSubsetOf(more, Policy.DEFAULT), limit);
            assertTrue(PolicyOrder.allowsSubsetOf(Policy.DEFAULT, more), limit);
        }
    }

    @Test
    void loggingEngineAndIsolationDoNotCount() throws Exception {
        Policy other = PolicyLoader.parse("execution:\n  engine: native\n  isolation: worker\n  logging: {level: error,"
                + " log_blocked_operations: false}\n", "t");
        assertTrue(PolicyOrder.allowsSubsetOf(other, Policy.DEFAULT));
        assertTrue(PolicyOrder.allowsSubsetOf(Policy.DEFAULT, other));
    }
}
