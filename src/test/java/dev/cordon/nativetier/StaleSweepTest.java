package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A JVM that died with a session open leaves its workspace image mounted: the next tier cleans up. */
class StaleSweepTest {

    @Test
    void imagesOfDeadJvmsAreCopiedBackAndUnmounted() throws Exception {
        assumeTrue(NativeTier.get().imageQuota(), "workspace images are not used on this host");
        Process gone = new ProcessBuilder("/usr/bin/true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        Path state = Files.createTempDirectory(Path.of("/tmp"), "cordon-sweep-");
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx--x--x"));
        Path host = Files.createTempDirectory("cordon-sweep-host-");
        String id = "w" + deadPid + "-1";
        Path img = state.resolve("images").resolve(id + ".img");
        Path mnt = state.resolve("ws").resolve(id);
        try {
            Files.createDirectories(img.getParent());
            Files.createDirectories(mnt);
            HostCommands.run(List.of("truncate", "-s", "8M", img.toString()));
            HostCommands.run(List.of("/usr/sbin/mkfs.ext4", "-q", "-F", img.toString()));
            HostCommands.run(List.of("mount", "-o", "loop", img.toString(), mnt.toString()));
            HostCommands.run(List.of("mount", "--bind", mnt.toString(), host.toString()));
            Files.writeString(host.resolve("result.txt"), "written before the crash");

            NativeTier.get(NativeConfig.fromSystemProperties().withStateDir(state)).check();

            String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
            assertFalse(mounts.contains(mnt.toString()), "image unmounted");
            assertFalse(mounts.contains(" " + host + " "), "host bind unmounted");
            assertEquals("written before the crash", Files.readString(host.resolve("result.txt")));
            assertFalse(Files.exists(img));
        } finally {
            HostCommands.run(List.of("sh", "-c", "umount " + host + " 2>/dev/null; umount " + mnt + " 2>/dev/null; true"));
            NativeWorkspace.deleteTree(state);
            NativeWorkspace.deleteTree(host);
        }
    }
}
