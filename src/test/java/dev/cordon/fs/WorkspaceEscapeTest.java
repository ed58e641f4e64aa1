package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.decision.Decision;
import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Guest code cannot read, write or list anything outside its namespace, by any path spelling or
 * link. Every check looks at effects from outside: the canary's content absent from all output and
 * from the workspace, files absent on the host.
 */
class WorkspaceEscapeTest {

    @RegisterExtension
    final TestDirs dirs = new TestDirs();

    @BeforeAll
    static void agent() {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
    }

    private static final String CANARY = "CANARY-" + UUID.randomUUID();

    /** Puts the canary in {@code outside/secret.txt} and {@code outside/d/secret.txt}. */
    private static void plantCanary(Sandboxed g) {
        try {
            Files.writeString(g.outside.resolve("secret.txt"), CANARY);
            Files.createDirectories(g.outside.resolve("d"));
            Files.writeString(g.outside.resolve("d/secret.txt"), CANARY);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** The canary is nowhere guest code could have put it: not in its output, not in any workspace or tmp file. */
    private static void assertCanaryNeverRead(Sandboxed g) throws IOException {
        assertFalse(g.allOutput().contains(CANARY), "canary content reached guest output");
        assertFalse(g.denialText().contains(CANARY), "canary content in a denial");
        for (Path root : List.of(g.ws, g.tmp)) {
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                        assertFalse(Files.readString(p, StandardCharsets.ISO_8859_1).contains(CANARY), "canary copied to " + p);
                    }
                }
            }
        }
        assertEquals(CANARY, Files.readString(g.outside.resolve("secret.txt")), "canary changed");
    }

    @Test
    void canaryOutsideIsNeverRead() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(), List.of(), WorkspaceEscapeTest::plantCanary)) {
            String host = g.outside.toString();
            String out = g.run("""
                    import os, io, shutil, pathlib, glob
                    host = %s
                    attempts = [
                        lambda: open(host + '/secret.txt').read(),
                        lambda: open('/workspace/../' + host + '/secret.txt').read(),
                        lambda: open('../../../../../../../../' + host + '/secret.txt').read(),
                        lambda: open('uploads/../../../../../../../../../' + host + '/d/secret.txt').read(),
                        lambda: os.read(os.open(host + '/secret.txt', os.O_RDONLY), 100),
                        lambda: io.FileIO(host + '/secret.txt').read(),
                        lambda: pathlib.Path(host, 'secret.txt').read_text(),
                        lambda: open('/proc/self/root' + host + '/secret.txt').read(),
                        lambda: open('/proc/self/cwd/../outside/secret.txt').read(),
                        lambda: shutil.copy(host + '/secret.txt', '/workspace/copy.txt'),
                        lambda: shutil.copytree(host, '/workspace/tree'),
                        lambda: os.listdir(host),
                        lambda: os.listdir('/'),
                        lambda: list(os.scandir(host)),
                        lambda: glob.glob(host + '/*'),
                        lambda: os.stat(host + '/secret.txt').st_size,
                        lambda: open('/etc/passwd').read(),
                        lambda: os.chdir(host),
                    ]
                    for i, a in enumerate(attempts):
                        try:
                            print(i, 'GOT', a())
                        except BaseException as e:
                            print(i, type(e).__name__, getattr(e, 'errno', None))
                    """.formatted(Sandboxed.pyStr(host)));
            assertCanaryNeverRead(g);
            for (String line : out.strip().split("\n")) {
                // glob swallows errors and returns []: that is the only "GOT" allowed
                assertTrue(!line.contains("GOT") || line.equals("14 GOT []"), line);
            }
            assertTrue(out.contains("0 PermissionError 13"), out);
            assertTrue(out.contains("16 PermissionError 13"), out); // /etc/passwd
            assertTrue(g.denials.stream().anyMatch(d -> d.target().equals(host + "/secret.txt")
                    && d.rule().equals("filesystem.workspace_only") && d.operation().equals("read")), g::denialText);
            assertTrue(g.denials.stream().anyMatch(d -> d.target().equals("/") && d.operation().equals("list")), g::denialText);
            assertFalse(Files.exists(g.ws.resolve("copy.txt")));
            assertFalse(Files.exists(g.ws.resolve("tree")));
        }
    }

    @Test
    void writesOutsideNeverHappen() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            String host = g.outside.toString();
            String wsHost = g.ws.toString();
            String out = g.run("""
                    import os, shutil
                    host, wshost = %s, %s
                    with open('/workspace/mine.txt', 'w') as f: f.write('mine')
                    attempts = [
                        lambda: open(host + '/w1.txt', 'w').write('x'),
                        lambda: open('/workspace/../' + host + '/w2.txt', 'w').write('x'),
                        lambda: open('../../../../../../../../../../' + host + '/w3.txt', 'x').write('x'),
                        lambda: os.open(host + '/w4.txt', os.O_CREAT | os.O_WRONLY),
                        lambda: os.mkdir(host + '/w5'),
                        lambda: os.makedirs(host + '/w6/a/b'),
                        lambda: os.rename('/workspace/mine.txt', host + '/w7.txt'),
                        lambda: shutil.move('/workspace/mine.txt', host + '/w8.txt'),
                        lambda: shutil.copy('/workspace/mine.txt', host + '/w9.txt'),
                        lambda: os.symlink('/workspace/mine.txt', host + '/w10'),
                        lambda: open(wshost + '/w11.txt', 'w').write('x'),
                        lambda: os.truncate(host + '/existing.txt', 0),
                        lambda: os.remove(host + '/existing.txt'),
                        lambda: os.chmod(host + '/existing.txt', 0o777),
                        lambda: os.utime(host + '/existing.txt', (0, 0)),
                        lambda: open('/etc/cordon-test-w12', 'w').write('x'),
                    ]
                    for i, a in enumerate(attempts):
                        try:
                            print(i, 'DID', a())
                        except BaseException as e:
                            print(i, type(e).__name__, getattr(e, 'errno', None))
                    """.formatted(Sandboxed.pyStr(host), Sandboxed.pyStr(wsHost)));
            assertFalse(out.contains("DID"), out);
            try (Stream<Path> s = Files.list(g.outside)) {
                assertEquals(List.of(g.outside.resolve("existing.txt")), s.toList(), "something was written outside");
            }
            assertEquals("keep", Files.readString(g.outside.resolve("existing.txt")));
            assertFalse(Files.exists(g.ws.resolve(g.ws.toString().substring(1) + "/w11.txt")));
            assertFalse(Files.exists(Path.of("/etc/cordon-test-w12")));
            assertEquals("mine", Files.readString(g.ws.resolve("mine.txt")), "the source of failed moves stays");
            assertTrue(g.denials.stream().allMatch(d -> d.category() == Decision.Category.FILESYSTEM), g::denialText);
            assertTrue(g.denials.stream().anyMatch(d -> d.operation().equals("rename")), g::denialText);
            assertTrue(g.denials.stream().anyMatch(d -> d.operation().equals("mkdir")), g::denialText);
        }
    }

    @Test
    void dotDotIsNormalisedInsideTheWorkspace() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            String out = g.run("""
                    import os
                    os.makedirs('/workspace/a/b')
                    with open('/workspace/a/b/../../top.txt', 'w') as f: f.write('top')
                    print(open('a/./b/../../top.txt').read())
                    os.chdir('a/b')
                    print(os.getcwd(), open('../../top.txt').read())
                    try:
                        open('../../../top.txt').read()
                    except PermissionError as e:
                        print('denied', e.filename if e.filename else '')
                    os.chdir('/workspace')
                    """);
            assertTrue(out.contains("top\n/workspace/a/b top\n"), out);
            assertTrue(out.contains("denied"), out);
            assertEquals("top", Files.readString(g.ws.resolve("top.txt")));
            // ../../../top.txt from /workspace/a/b is /top.txt: outside, reported as such
            assertTrue(g.denials.stream().anyMatch(d -> d.target().equals("/top.txt")), g::denialText);
        }
    }

    @Test
    void guestSymlinksMustStayInside() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(), List.of(), WorkspaceEscapeTest::plantCanary)) {
            String host = g.outside.toString();
            String out = g.run("""
                    import os
                    host = %s
                    with open('/workspace/data.txt', 'w') as f: f.write('data')
                    os.makedirs('/workspace/sub')
                    os.symlink('/workspace/data.txt', '/workspace/sub/abs_link')
                    os.symlink('../data.txt', '/workspace/sub/rel_link')
                    print('via links', open('sub/abs_link').read(), open('sub/rel_link').read())
                    print('realpath', os.path.realpath('sub/abs_link'))
                    for target in [host + '/secret.txt', '/etc/passwd', '../../../../../../../../..' + host + '/secret.txt', '/', '..', '/tmp/x']:
                        try:
                            os.symlink(target, '/workspace/evil')
                            print('MADE', target, open('/workspace/evil').read())
                        except BaseException as e:
                            print('refused', type(e).__name__)
                    print('exists', os.path.lexists('/workspace/evil'))
                    """.formatted(Sandboxed.pyStr(host)));
            assertTrue(out.contains("via links data data"), out);
            assertTrue(out.contains("realpath /workspace/data.txt"), out);
            assertFalse(out.contains("MADE"), out);
            assertTrue(out.contains("exists False"), out);
            // stored relative on the host, so the host sees the same target the guest meant
            assertEquals("../data.txt", Files.readSymbolicLink(g.ws.resolve("sub/abs_link")).toString());
            assertFalse(Files.exists(g.ws.resolve("evil"), LinkOption.NOFOLLOW_LINKS));
            assertTrue(g.denials.stream().anyMatch(d -> d.operation().equals("symlink")), g::denialText);
            assertCanaryNeverRead(g);
        }
    }

    /**
     * A link made inside, with a target that is inside when made, leads out once its directory is
     * moved up: checked at every use, not only when made.
     */
    @Test
    void renamedRelativeLinkCannotEscape() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(), List.of(), WorkspaceEscapeTest::plantCanary)) {
            String out = g.run("""
                    import os
                    os.makedirs('/workspace/a/b/c')
                    os.symlink('../../outside', '/workspace/a/b/c/l')   # /workspace/a/outside: inside when made
                    os.rename('/workspace/a/b/c', '/workspace/c')        # now ../../outside is the host's sibling dir
                    print('link', os.readlink('/workspace/c/l') if False else 'moved')
                    for p in ['/workspace/c/l/secret.txt', '/workspace/c/l/d/secret.txt']:
                        try:
                            print('GOT', open(p).read())
                        except BaseException as e:
                            print('refused', type(e).__name__)
                    for f in [lambda: os.listdir('/workspace/c/l'), lambda: os.stat('/workspace/c/l/secret.txt'),
                              lambda: open('/workspace/c/l/new.txt', 'w')]:
                        try:
                            print('GOT', f())
                        except BaseException as e:
                            print('refused', type(e).__name__)
                    """);
            assertFalse(out.contains("GOT"), out);
            assertFalse(Files.exists(g.outside.resolve("new.txt")));
            assertTrue(g.denials.stream().anyMatch(d -> d.reason().contains("symbolic link")), g::denialText);
            assertCanaryNeverRead(g);
        }
    }

    @Test
    void hostPlantedSymlinksDoNotLeadOut() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(), List.of(), s -> {
            plantCanary(s);
            try {
                Path up = Files.createDirectories(s.ws.resolve("uploads"));
                Files.createSymbolicLink(up.resolve("abs_file"), s.outside.resolve("secret.txt"));
                Files.createSymbolicLink(up.resolve("abs_dir"), s.outside);
                Files.createSymbolicLink(up.resolve("rel_dir"), Path.of("../../outside"));
                Files.createSymbolicLink(up.resolve("etc"), Path.of("/etc"));
                Files.createSymbolicLink(up.resolve("inside"), Path.of("../real.txt"));
                Files.writeString(s.ws.resolve("real.txt"), "real");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        })) {
            String out = g.run("""
                    import os, shutil
                    u = '/workspace/uploads/'
                    tries = [
                        lambda: open(u + 'abs_file').read(),
                        lambda: open(u + 'abs_dir/secret.txt').read(),
                        lambda: open(u + 'rel_dir/secret.txt').read(),
                        lambda: open(u + 'rel_dir/d/secret.txt').read(),
                        lambda: open(u + 'etc/passwd').read(),
                        lambda: os.listdir(u + 'abs_dir'),
                        lambda: os.stat(u + 'abs_file'),
                        lambda: shutil.copy(u + 'abs_file', '/workspace/stolen.txt'),
                        lambda: open(u + 'abs_file', 'w').write('overwritten'),
                        lambda: open(u + 'rel_dir/new.txt', 'w').write('x'),
                        lambda: os.chmod(u + 'abs_file', 0o600),
                        lambda: os.path.realpath(u + 'abs_file', strict=True),
                    ]
                    for i, t in enumerate(tries):
                        try:
                            print(i, 'GOT', t())
                        except BaseException as e:
                            print(i, type(e).__name__)
                    print('inside', open(u + 'inside').read())
                    print('lstat ok', os.path.islink(u + 'abs_file'))
                    """);
            assertFalse(out.contains("GOT"), out);
            assertTrue(out.contains("inside real"), out);
            assertTrue(out.contains("lstat ok True"), out); // the link itself may be seen, not followed
            assertEquals(CANARY, Files.readString(g.outside.resolve("secret.txt")));
            assertFalse(Files.exists(g.outside.resolve("new.txt")));
            assertFalse(Files.exists(g.ws.resolve("stolen.txt")));
            assertTrue(g.denials.stream().anyMatch(d -> d.target().equals("/workspace/uploads/abs_file")
                    && d.rule().equals("filesystem.workspace_only")), g::denialText);
            assertCanaryNeverRead(g);
        }
    }

    @Test
    void hardLinksAreRefusedWithAFix() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(), List.of(), WorkspaceEscapeTest::plantCanary)) {
            String host = g.outside.toString();
            String out = g.run("""
                    import os
                    with open('/workspace/f.txt', 'w') as f: f.write('f')
                    for src, dst in [('/workspace/f.txt', '/workspace/g.txt'), (%s + '/secret.txt', '/workspace/h.txt')]:
                        try:
                            os.link(src, dst)
                            print('LINKED', dst)
                        except PermissionError as e:
                            print('refused:', e)
                    """.formatted(Sandboxed.pyStr(host)));
            assertFalse(out.contains("LINKED"), out);
            assertTrue(out.contains("shutil.copy"), out);
            try (Stream<Path> s = Files.list(g.ws)) {
                assertEquals(List.of("f.txt", "outputs", "uploads"), s.map(p -> p.getFileName().toString()).sorted().toList());
            }
            assertCanaryNeverRead(g);
        }
    }

    @Test
    void deniedOperationsRaisePermissionErrorWithAnActionableMessage() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            String out = g.run("""
                    try:
                        open('/etc/hosts')
                    except Exception as e:
                        print(type(e).__name__, e.errno, '|', e.strerror, '|', e.filename)
                    try:
                        open('/etc/hosts', 'w')
                    except PermissionError as e:
                        print('W', e.strerror)
                    """);
            assertTrue(out.startsWith("PermissionError 13 | Cordon blocked filesystem read /etc/hosts"), out);
            assertTrue(out.contains("policy rule filesystem.workspace_only"), out);
            assertTrue(out.contains("--upload"), out);
            assertTrue(out.contains("| /etc/hosts"), out);
            assertTrue(out.contains("W Cordon blocked filesystem write /etc/hosts"), out);
            assertTrue(out.contains("/workspace/outputs"), out);
            Decision.Deny d = g.denials.get(0);
            assertEquals("[BLOCKED] filesystem=read path=/etc/hosts policy=filesystem.workspace_only", d.blockedLine());
        }
    }

    /** A hard link the host put in the workspace may be read, not written: its other name may be outside. */
    @Test
    void hostMadeHardLinksAreReadOnly() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(), List.of(), s -> {
            try {
                Files.createLink(Files.createDirectories(s.ws.resolve("uploads")).resolve("shared.txt"),
                        s.outside.resolve("existing.txt"));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        })) {
            String out = g.run("""
                    import os
                    print('read', open('/workspace/uploads/shared.txt').read())
                    for f in [lambda: open('/workspace/uploads/shared.txt', 'a'), lambda: os.truncate('/workspace/uploads/shared.txt', 0)]:
                        try:
                            print('DID', f())
                        except PermissionError as e:
                            print('refused', 'hard links' in str(e))
                    """);
            assertTrue(out.contains("read keep"), out);
            assertEquals(2, out.lines().filter(l -> l.equals("refused True")).count(), out);
            assertEquals("keep", Files.readString(g.outside.resolve("existing.txt")));
        }
    }
}
