package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.decision.Decision;
import dev.cordon.decision.FileDecisions;
import dev.cordon.decision.FileDecisions.Area;
import dev.cordon.decision.FileDecisions.Op;
import dev.cordon.policy.FilesystemPolicy;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The pure decision function, case by case: (policy, op, path, area, protected) -> allow or the rule that denies. */
class FileDecisionsTest {

    static final FilesystemPolicy RW = FilesystemPolicy.DEFAULT;
    static final FilesystemPolicy RO = new FilesystemPolicy("/workspace", false, 256, false, "/workspace/uploads",
            "/workspace/outputs");

    static Stream<Arguments> cases() {
        return Stream.of(
                // policy, op, path, area, protected, expected rule ("allow:" prefix for allows)
                Arguments.of(RW, Op.READ, "/workspace/a", Area.WORKSPACE, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RW, Op.WRITE, "/workspace/a", Area.WORKSPACE, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RW, Op.DELETE, "/workspace/a", Area.WORKSPACE, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RW, Op.WRITE, "/tmp/a", Area.TMP, false, "allow:filesystem.tmp"),
                Arguments.of(RO, Op.READ, "/workspace/a", Area.WORKSPACE, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RO, Op.STAT, "/workspace/a", Area.WORKSPACE, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RO, Op.WRITE, "/workspace/a", Area.WORKSPACE, false, "filesystem.writable"),
                Arguments.of(RO, Op.MKDIR, "/workspace/d", Area.WORKSPACE, false, "filesystem.writable"),
                Arguments.of(RO, Op.RENAME, "/workspace/a", Area.WORKSPACE, false, "filesystem.writable"),
                Arguments.of(RO, Op.CHMOD, "/workspace/a", Area.WORKSPACE, false, "filesystem.writable"),
                Arguments.of(RO, Op.SYMLINK, "/workspace/l", Area.WORKSPACE, false, "filesystem.writable"),
                Arguments.of(RO, Op.WRITE, "/tmp/a", Area.TMP, false, "allow:filesystem.tmp"),
                Arguments.of(RW, Op.READ, "/workspace/sandbox.log", Area.WORKSPACE, true, "allow:filesystem.workspace_dir"),
                Arguments.of(RW, Op.WRITE, "/workspace/sandbox.log", Area.WORKSPACE, true, "logging.log_file"),
                Arguments.of(RW, Op.DELETE, "/workspace/sandbox.log", Area.WORKSPACE, true, "logging.log_file"),
                Arguments.of(RW, Op.RENAME, "/workspace/sandbox.log", Area.WORKSPACE, true, "logging.log_file"),
                Arguments.of(RO, Op.WRITE, "/workspace/sandbox.log", Area.WORKSPACE, true, "logging.log_file"),
                Arguments.of(RW, Op.READ, "/etc/passwd", Area.OUTSIDE, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.STAT, "/etc/passwd", Area.OUTSIDE, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.LIST, "/etc", Area.OUTSIDE, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.WRITE, "/etc/passwd", Area.OUTSIDE, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.STAT, "/", Area.ANCESTOR, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RW, Op.CHDIR, "/", Area.ANCESTOR, false, "allow:filesystem.workspace_dir"),
                Arguments.of(RW, Op.LIST, "/", Area.ANCESTOR, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.READ, "/", Area.ANCESTOR, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.MKDIR, "/x", Area.ANCESTOR, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.STAT, "/usr/bin/ls", Area.PROGRAM, false, "allow:subprocess.allowed_commands"),
                Arguments.of(RW, Op.READ, "/usr/bin/ls", Area.PROGRAM, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.WRITE, "/usr/bin/ls", Area.PROGRAM, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.READ, "/usr/lib/py/x.py", Area.READ_ONLY, false, "allow:filesystem.read_only"),
                Arguments.of(RW, Op.LIST, "/usr/lib/py", Area.READ_ONLY, false, "allow:filesystem.read_only"),
                Arguments.of(RW, Op.WRITE, "/usr/lib/py/x.py", Area.READ_ONLY, false, "filesystem.workspace_only"),
                Arguments.of(RW, Op.DELETE, "/usr/lib/py/x.py", Area.READ_ONLY, false, "filesystem.workspace_only"));
    }

    @ParameterizedTest(name = "{1} {2} ({3}, protected={4}) -> {5}")
    @MethodSource("cases")
    void decides(FilesystemPolicy p, Op op, String path, Area area, boolean prot, String want) {
        Decision d = FileDecisions.decide(p, op, path, area, prot);
        if (want.startsWith("allow:")) {
            assertInstanceOf(Decision.Allow.class, d, () -> d.toString());
            assertEquals(want.substring(6), d.rule());
        } else {
            Decision.Deny deny = assertInstanceOf(Decision.Deny.class, d);
            assertEquals(want, deny.rule());
            assertEquals(Decision.Category.FILESYSTEM, deny.category());
            assertEquals(op.word(), deny.operation());
            assertEquals(path, deny.target());
            assertTrue(deny.message().contains(path) && deny.message().contains(want) && !deny.fix().isBlank(),
                    deny::message);
        }
    }

    @Test
    void eachDenialSaysWhatWouldHelp() {
        assertTrue(FileDecisions.decide(RO, Op.WRITE, "/workspace/a", Area.WORKSPACE, false) instanceof Decision.Deny d
                && d.fix().equals("execution.sandbox.filesystem: {writable: true}"));
        Decision.Deny read = (Decision.Deny) FileDecisions.decide(RW, Op.READ, "/data/x.csv", Area.OUTSIDE, false);
        assertTrue(read.fix().contains("--upload") && read.fix().contains("/workspace/uploads"), read.fix());
        Decision.Deny write = (Decision.Deny) FileDecisions.decide(RW, Op.WRITE, "/data/x.csv", Area.OUTSIDE, false);
        assertTrue(write.fix().contains("/workspace/outputs") && write.fix().contains("no policy key"), write.fix());
        Decision.Deny log = (Decision.Deny) FileDecisions.decide(RW, Op.WRITE, "/workspace/sandbox.log", Area.WORKSPACE, true);
        assertTrue(log.fix().contains("logging.log_file"), log.fix());
    }

    @Test
    void quotaDenialSuggestsALimitThatFits() {
        Decision.Deny d = FileDecisions.quota(RW, Op.WRITE, "/workspace/big", 200L << 20, 300L << 20);
        assertEquals("filesystem.max_size_mb", d.rule());
        assertTrue(d.fix().contains("max_size_mb (e.g. 512)"), d.fix());
        assertTrue(d.reason().contains("256 MB") && d.reason().contains("200.0 MB") && d.reason().contains("300.0 MB"),
                d.reason());
        assertEquals("[BLOCKED] filesystem=write path=/workspace/big policy=filesystem.max_size_mb", d.blockedLine());
    }

    @Test
    void linksThatWouldLeadOut() {
        Decision.Deny s = FileDecisions.symlinkOut(RW, "/workspace/l", "/etc/passwd");
        assertEquals("symlink", s.operation());
        assertEquals("/workspace/l -> /etc/passwd", s.target());
        assertEquals("filesystem.workspace_only", s.rule());
        Decision.Deny t = FileDecisions.symlinkOut(RW, "/tmp/l", "/workspace/x");
        assertTrue(t.reason().contains("inside /tmp"), t.reason());
        Decision.Deny e = FileDecisions.escape(RW, Op.READ, "/workspace/uploads/evil");
        assertTrue(e.reason().contains("symbolic link") && e.fix().contains("copy"), e.message());
        Decision.Deny h = FileDecisions.hardLink(RW, "/workspace/a -> /workspace/b");
        assertTrue(h.fix().contains("shutil.copy") && h.fix().contains("os.symlink"), h.fix());
    }
}
