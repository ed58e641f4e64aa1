package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The time-of-check/time-of-use race: while guest threads open {@code /workspace/race/sub/f}, a
 * host thread (standing in for another guest thread or a native-tier process sharing the
 * workspace) keeps swapping the intermediate directory {@code race} for a symlink to a directory
 * outside that holds a canary at the same relative path. {@code NOFOLLOW_LINKS} would not help
 * here (it covers only the last component).
 */
class SymlinkRaceTest {

    @RegisterExtension
    final TestDirs dirs = new TestDirs();

    private static final String CANARY = "CANARY-RACE-" + UUID.randomUUID();

    @BeforeAll
    static void agent() {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
    }

    /** Swaps ws/race between a real directory and a symlink to outside/cd until stopped. */
    private static final class Swapper extends Thread {
        final Path race;
        final Path parked;
        final Path link;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong swaps = new AtomicLong();

        Swapper(Path ws, Path outsideDir) throws IOException {
            super("race-swapper");
            setDaemon(true);
            race = ws.resolve("race");
            parked = ws.resolve("race_parked");
            link = ws.resolve("race_link");
            Files.createDirectories(race.resolve("sub"));
            Files.writeString(race.resolve("sub/f"), "SAFE");
            Files.createSymbolicLink(link, outsideDir);
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    Files.move(race, parked, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(link, race, StandardCopyOption.ATOMIC_MOVE);
                    Thread.onSpinWait();
                    Files.move(race, link, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(parked, race, StandardCopyOption.ATOMIC_MOVE);
                    swaps.incrementAndGet();
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }

        void finish() throws InterruptedException {
            stop.set(true);
            join();
        }
    }

    private static Path canaryDir(Sandboxed g) throws IOException {
        Path cd = Files.createDirectories(g.outside.resolve("cd/sub"));
        Files.writeString(cd.resolve("f"), CANARY);
        return cd.getParent();
    }

    @Test
    void swappingADirectoryForASymlinkNeverLeaksTheCanary() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT)) {
            Path cd = canaryDir(g);
            Swapper swapper = new Swapper(g.ws, cd);
            swapper.start();
            String out;
            try {
                out = g.run("""
                        import threading, os, collections
                        counts = collections.Counter()
                        leaks = []
                        def reader(n):
                            for i in range(n):
                                try:
                                    with open('/workspace/race/sub/f') as f:
                                        s = f.read()
                                    counts['safe' if s == 'SAFE' else 'other'] += 1
                                    if s != 'SAFE':
                                        leaks.append(s)
                                except PermissionError:
                                    counts['denied'] += 1
                                except FileNotFoundError:
                                    counts['missing'] += 1
                                try:
                                    st = os.stat('/workspace/race/sub/f')
                                    if st.st_size != 4:
                                        leaks.append('size %d' % st.st_size)
                                except OSError:
                                    pass
                                try:
                                    with open('/workspace/race/sub/w', 'a') as f:
                                        f.write('w')
                                except OSError:
                                    pass
                        ts = [threading.Thread(target=reader, args=(1500,)) for _ in range(4)]
                        for t in ts: t.start()
                        for t in ts: t.join()
                        print('counts', dict(counts))
                        print('leaks', leaks[:5])
                        """);
            } finally {
                swapper.finish();
            }
            System.out.println("race: " + out.strip() + ", host swaps " + swapper.swaps.get());
            assertFalse(out.contains(CANARY), out);
            assertFalse(g.denialText().contains(CANARY));
            assertTrue(out.contains("leaks []"), out);
            assertFalse(Files.exists(cd.resolve("sub/w")), "a write went through the swapped-in link");
            assertEquals(CANARY, Files.readString(cd.resolve("sub/f")));
            // Both states were hit: the race really ran.
            assertTrue(out.matches("(?s).*'safe': [1-9].*"), out);
            assertTrue(out.matches("(?s).*'denied': [1-9].*"), out);
            assertTrue(g.denials.stream().anyMatch(d -> d.reason().contains("symbolic link")), g::denialText);
            assertTrue(Files.isRegularFile(g.ws.resolve("race/sub/w"), LinkOption.NOFOLLOW_LINKS)
                    || Files.isRegularFile(g.ws.resolve("race_parked/sub/w"), LinkOption.NOFOLLOW_LINKS));
        }
    }

    /**
     * The control experiment: the check this gate does not rely on (resolve the real path, check
     * it is inside, then open by path) does leak under the same swapper. Shows the race test above
     * can fail.
     */
    @Test
    void aNaiveCheckThenOpenDoesLeakUnderTheSameRace() throws Exception {
        Path base = dirs.fresh();
        Path ws = Files.createDirectories(base.resolve("ws")).toRealPath();
        Path outside = Files.createDirectories(base.resolve("outside/cd/sub"));
        Files.writeString(outside.resolve("f"), CANARY);
        Swapper swapper = new Swapper(ws, outside.getParent());
        swapper.start();
        long leaks = 0;
        long tries = 0;
        long deadline = System.nanoTime() + 10_000_000_000L;
        try {
            Path p = ws.resolve("race/sub/f");
            while (leaks == 0 && System.nanoTime() < deadline) {
                tries++;
                try {
                    if (p.toRealPath().startsWith(ws) && Files.readString(p).equals(CANARY)) {
                        leaks++;
                    }
                } catch (IOException e) {
                    // missing in between swaps
                }
            }
        } finally {
            swapper.finish();
        }
        System.out.println("naive check-then-open: first canary read after " + tries + " tries");
        assertTrue(leaks > 0, "the naive check never lost the race in 10 s (" + tries + " tries): the race is not exercised");
    }
}
