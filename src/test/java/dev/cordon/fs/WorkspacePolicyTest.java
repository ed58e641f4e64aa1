package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.FilesystemPolicy;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** writable: false, /tmp, ordinary use without audit noise, and the fresh-call reset. */
class WorkspacePolicyTest {

    @RegisterExtension
    final TestDirs dirs = new TestDirs();

    @BeforeAll
    static void agent() {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
    }

    @Test
    void readOnlyWorkspaceRefusesEveryChangeButTmpStaysWritable() throws Exception {
        FilesystemPolicy ro = new FilesystemPolicy("/workspace", false, 10, true, "/workspace/uploads", "/workspace/outputs");
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ro, List.of(), List.of(), s -> {
            try {
                Files.createDirectories(s.ws.resolve("uploads"));
                Files.writeString(s.ws.resolve("uploads/in.csv"), "a,b\n1,2\n");
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        })) {
            String out = g.run("""
                    import os, shutil, tempfile
                    print('read', open('/workspace/uploads/in.csv').read().splitlines())
                    print('access', os.access('/workspace/uploads/in.csv', os.W_OK), os.access('/workspace/uploads/in.csv', os.R_OK))
                    tries = [
                        lambda: open('/workspace/new.txt', 'w'),
                        lambda: open('/workspace/uploads/in.csv', 'a'),
                        lambda: open('/workspace/uploads/in.csv', 'r+'),
                        lambda: os.mkdir('/workspace/d'),
                        lambda: os.remove('/workspace/uploads/in.csv'),
                        lambda: os.rename('/workspace/uploads/in.csv', '/workspace/x.csv'),
                        lambda: os.truncate('/workspace/uploads/in.csv', 0),
                        lambda: os.chmod('/workspace/uploads/in.csv', 0o600),
                        lambda: os.symlink('in.csv', '/workspace/uploads/l'),
                        lambda: shutil.copy('/workspace/uploads/in.csv', '/workspace/outputs/out.csv'),
                    ]
                    for i, t in enumerate(tries):
                        try:
                            print(i, 'DID', t())
                        except PermissionError as e:
                            print(i, 'refused', 'filesystem.writable' in str(e), 'writable: true' in str(e))
                    with tempfile.TemporaryDirectory() as d:
                        with open(d + '/scratch.txt', 'w') as f:
                            f.write('scratch')
                        print('tmp ok', open(d + '/scratch.txt').read())
                    with open('/tmp/kept.txt', 'w') as f:
                        f.write('kept')
                    shutil.copy('/workspace/uploads/in.csv', '/tmp/copy.csv')
                    print('copy in tmp', open('/tmp/copy.csv').read().count(','))
                    """);
            assertFalse(out.contains("DID"), out);
            assertEquals(10, out.lines().filter(l -> l.endsWith("refused True True")).count(), out);
            assertTrue(out.contains("read ['a,b', '1,2']"), out);
            assertTrue(out.contains("access False True"), out);
            assertTrue(out.contains("tmp ok scratch"), out);
            assertTrue(out.contains("copy in tmp 2"), out);
            try (Stream<Path> s = Files.walk(g.ws)) {
                assertEquals(List.of("", "outputs", "uploads", "uploads/in.csv"),
                        s.map(p -> g.ws.relativize(p).toString()).sorted().toList(), "the workspace is unchanged");
            }
            assertEquals("a,b\n1,2\n", Files.readString(g.ws.resolve("uploads/in.csv")));
            assertEquals("kept", Files.readString(g.tmp.resolve("kept.txt")));
            assertTrue(g.denials.stream().allMatch(d -> d.rule().equals("filesystem.writable")), g::denialText);
            assertEquals(10, g.denials.size(), g::denialText);
        }
    }

    /** Imports and everyday file work touch nothing outside: not one denial. */
    @Test
    void ordinaryWorkProducesNoDenials() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            String out = g.run("""
                    import json, csv, re, os, tempfile, pathlib, shutil, glob, io, gzip, zipfile, logging, datetime
                    import random, hashlib, collections, itertools, functools, string, textwrap, fnmatch, uuid, base64
                    p = pathlib.Path('/workspace/outputs')
                    rows = [{'id': i, 'name': 'n%d' % i} for i in range(100)]
                    with open(p / 'data.csv', 'w', newline='') as f:
                        w = csv.DictWriter(f, fieldnames=['id', 'name'])
                        w.writeheader()
                        w.writerows(rows)
                    with open(p / 'data.csv') as f:
                        back = list(csv.DictReader(f))
                    (p / 'data.json').write_text(json.dumps(back))
                    os.makedirs('/workspace/work/a/b', exist_ok=True)
                    shutil.copy(p / 'data.json', '/workspace/work/a/b/copy.json')
                    shutil.copytree('/workspace/work', '/workspace/work2')
                    shutil.rmtree('/workspace/work2')
                    with gzip.open('/workspace/work/d.gz', 'wt') as f:
                        f.write('zipped')
                    with zipfile.ZipFile('/workspace/work/z.zip', 'w') as z:
                        z.write('/workspace/outputs/data.csv', 'data.csv')
                    with tempfile.TemporaryDirectory() as d:
                        pathlib.Path(d, 't.txt').write_text('t')
                        tf = tempfile.NamedTemporaryFile()
                        tf.write(b'x'); tf.flush(); tf.close()
                    fd, name = tempfile.mkstemp(dir='/workspace/work')
                    os.close(fd); os.remove(name)
                    logging.basicConfig(filename='/workspace/work/app.log', level=logging.INFO)
                    logging.info('hello')
                    logging.shutdown()
                    found = sorted(str(x) for x in pathlib.Path('/workspace').rglob('*.json'))
                    walked = sum(len(f) for _, _, f in os.walk('/workspace'))
                    print(len(back), found, walked, glob.glob('/workspace/outputs/*.csv'))
                    print(os.path.realpath('.'), pathlib.Path.cwd(), pathlib.Path.home(), os.path.expanduser('~'))
                    print(os.path.abspath('x'), os.path.exists('/workspace/nope'), tempfile.gettempdir())
                    print(os.getpid() > 0, hashlib.sha256(b'x').hexdigest()[:8], shutil.disk_usage('/workspace').total)
                    print(os.path.realpath(json.__file__).endswith('__init__.py'), os.path.isdir('/'))
                    """);
            assertTrue(out.startsWith("100 ['/workspace/outputs/data.json', '/workspace/work/a/b/copy.json'] "), out);
            assertTrue(out.contains("/workspace /workspace /workspace /workspace"), out);
            assertTrue(out.contains("/workspace/x False /tmp"), out);
            assertTrue(out.contains("True 2d711642 268435456"), out);
            assertTrue(out.contains("True True"), out);
            assertEquals(List.of(), g.denials, g::denialText);
        }
    }

    /** Programs can be found (so the process gate sees subprocess attempts) but not read or listed. */
    @Test
    void programsCanBeFoundNotRead() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            String out = g.run("""
                    import shutil, subprocess, os
                    print('which', shutil.which('ls'))
                    try:
                        subprocess.run(['ls', '/'])
                    except OSError as e:
                        print('run', type(e).__name__)
                    for f in [lambda: open('/usr/bin/ls', 'rb').read(4), lambda: os.listdir('/usr/bin')]:
                        try:
                            print('GOT', f())
                        except PermissionError:
                            print('refused')
                    """);
            assertTrue(out.contains("which /usr/bin/ls") || out.contains("which /bin/ls"), out);
            assertTrue(out.contains("run OSError"), out);
            assertFalse(out.contains("GOT"), out);
            assertTrue(g.processAttempts.stream().anyMatch(c -> c.endsWith("/ls /")), g.processAttempts::toString);
            assertEquals(2, g.denials.size(), g::denialText);
        }
    }

    @Test
    void freshCallResetKeepsUploadsAndLogs() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of("/workspace/sandbox.log"),
                List.of(), null)) {
            Files.writeString(g.ws.resolve("uploads/in.txt"), "upload");
            Files.writeString(g.ws.resolve("sandbox.log"), "log line\n");
            String out = g.run("""
                    import os
                    os.makedirs('/workspace/work/deep/er')
                    for p in ['/workspace/work/deep/er/f', '/workspace/outputs/o.txt', '/workspace/top.txt', '/tmp/t.txt']:
                        with open(p, 'w') as f:
                            f.write('data')
                    os.symlink('uploads', '/workspace/ul')
                    os.chdir('/workspace/work')
                    print('made')
                    """);
            assertTrue(out.contains("made"), out);
            g.fs.resetForFreshCall();
            try (Stream<Path> s = Files.walk(g.ws)) {
                assertEquals(List.of("", "outputs", "sandbox.log", "uploads", "uploads/in.txt"),
                        s.map(p -> g.ws.relativize(p).toString()).sorted().toList());
            }
            try (Stream<Path> s = Files.list(g.tmp)) {
                assertEquals(0, s.count());
            }
            assertEquals("upload", Files.readString(g.ws.resolve("uploads/in.txt")));
            assertEquals("log line\n", Files.readString(g.ws.resolve("sandbox.log")));
            assertEquals(6, g.fs.usedBytes());
            assertEquals("/workspace\n", g.run("import os\nprint(os.getcwd())\n"));
            // the log file is still protected after the reset
            String again = g.run("""
                    try:
                        open('/workspace/sandbox.log', 'w')
                    except PermissionError:
                        print('still protected')
                    """);
            assertTrue(again.contains("still protected"), again);
        }
    }

    /** A reset removes a link guest code left, never what it points to (not even after a swap). */
    @Test
    void resetNeverFollowsLinks() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            Files.createDirectories(g.outside.resolve("victim"));
            Files.writeString(g.outside.resolve("victim/precious.txt"), "precious");
            Files.createSymbolicLink(g.ws.resolve("outputs/escape"), g.outside.resolve("victim"));
            Files.createSymbolicLink(g.tmp.resolve("escape"), g.outside.resolve("victim"));
            g.fs.resetForFreshCall();
            assertEquals("precious", Files.readString(g.outside.resolve("victim/precious.txt")));
            assertFalse(Files.exists(g.ws.resolve("outputs/escape"), LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.isDirectory(g.ws.resolve("outputs"), LinkOption.NOFOLLOW_LINKS));
        }
    }

    /** Upload and output dirs exist from the start, and a link put in their place is replaced. */
    @Test
    void uploadAndOutputDirsExistAsRealDirectories() throws Exception {
        FilesystemPolicy p = new FilesystemPolicy("/data", true, 5, false, "/data/in/up", "/data/out");
        try (Sandboxed g = new Sandboxed(dirs.fresh(), p, List.of(), List.of(), s -> {
            try {
                Files.createSymbolicLink(s.ws.resolve("out"), s.outside);
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        })) {
            assertTrue(Files.isDirectory(g.ws.resolve("in/up"), LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.isDirectory(g.ws.resolve("out"), LinkOption.NOFOLLOW_LINKS));
            String out = g.run("import os\nprint(os.getcwd(), sorted(os.listdir('/data')), os.path.isdir('/data/in/up'))\n");
            assertEquals("/data ['in', 'out'] True\n", out);
        }
    }

    @Test
    void extraReadOnlyDirsCanBeImportedNotChanged() throws Exception {
        Path base = dirs.fresh();
        Path lib = Files.createDirectories(base.resolve("site"));
        Files.writeString(lib.resolve("cordon_ro_mod.py"), "VALUE = 42\n");
        Files.createDirectories(base.resolve("outside"));
        Files.writeString(base.resolve("outside/secret.txt"), "SECRET-RO");
        Files.createSymbolicLink(lib.resolve("escape.txt"), base.resolve("outside/secret.txt"));
        try (Sandboxed g = new Sandboxed(base, FilesystemPolicy.DEFAULT, List.of(), List.of(lib), null)) {
            String out = g.run("""
                    import sys, os
                    lib = %s
                    sys.path.insert(0, lib)
                    import cordon_ro_mod
                    print('value', cordon_ro_mod.VALUE, sorted(os.listdir(lib)))
                    for f in [lambda: open(lib + '/new.py', 'w'), lambda: os.remove(lib + '/cordon_ro_mod.py'),
                              lambda: open(lib + '/escape.txt').read(), lambda: os.mkdir(lib + '/d')]:
                        try:
                            print('GOT', f())
                        except PermissionError as e:
                            print('refused')
                    """.formatted(Sandboxed.pyStr(lib.toString())));
            assertTrue(out.contains("value 42 ['cordon_ro_mod.py', 'escape.txt']"), out);
            assertFalse(out.contains("GOT"), out);
            assertFalse(out.contains("SECRET-RO"), out);
            assertEquals(4, out.lines().filter(l -> l.equals("refused")).count(), out);
            assertFalse(Files.exists(lib.resolve("new.py")));
            assertFalse(Files.exists(lib.resolve("d")));
            assertTrue(Files.exists(lib.resolve("cordon_ro_mod.py")));
        }
    }

    /** fcntl locks work: GraalPy only locks FileChannels, so the gate's channel is one. */
    @Test
    void fileLocksWork() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            String out = g.run("""
                    import fcntl
                    with open('/workspace/locked', 'w') as f:
                        fcntl.flock(f, fcntl.LOCK_EX)
                        f.write('x')
                        fcntl.flock(f, fcntl.LOCK_UN)
                    print('locked ok')
                    """);
            assertEquals("locked ok\n", out);
            assertEquals("x", Files.readString(g.ws.resolve("locked")));
        }
    }

    /** A tree deeper than any path (built by renames) can neither break the reset nor slip past the quota. */
    @Test
    void treesDeeperThanAnyPathAreHandled() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            int fd = Sys.openat2(Sys.AT_FDCWD, g.ws.toString(), Sys.O_PATH | Sys.O_DIRECTORY, 0, 0);
            for (int i = 0; i < HostTree.MAX_DEPTH + 500; i++) {
                Sys.mkdirat(fd, "d", 0755);
                int next = Sys.openat2(fd, "d", Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_NOFOLLOW, 0, 0);
                Sys.close(fd);
                fd = next;
            }
            Sys.close(fd);
            g.fs.rescan();
            assertEquals(FilesystemPolicy.DEFAULT.maxSizeBytes(), g.fs.usedBytes(), "uncountable: treated as full");
            g.fs.resetForFreshCall();
            try (Stream<Path> s = Files.list(g.ws)) {
                assertEquals(List.of("outputs", "uploads"), s.map(p -> p.getFileName().toString()).sorted().toList());
            }
            assertEquals(0, g.fs.usedBytes());
        }
    }
}
