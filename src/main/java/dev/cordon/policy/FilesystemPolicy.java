package dev.cordon.policy;

import java.util.Objects;

/**
 * {@code execution.sandbox.filesystem}. All paths are absolute guest paths, normalised, and the
 * upload and output dirs lie inside the workspace (checked by the loader).
 *
 * @param workspaceDir       where guest code sees its workspace (default {@code /workspace})
 * @param writable           whether guest code may write in the workspace (default true)
 * @param maxSizeMb          bound on the bytes of all files in the workspace (default 256)
 * @param persistAcrossCalls keep globals and files between calls of a session (default false)
 * @param uploadDir          where uploads appear (default {@code <workspace>/uploads})
 * @param outputDir          where outputs are collected from (default {@code <workspace>/outputs})
 */
public record FilesystemPolicy(
        String workspaceDir,
        boolean writable,
        long maxSizeMb,
        boolean persistAcrossCalls,
        String uploadDir,
        String outputDir) {

    public FilesystemPolicy {
        Objects.requireNonNull(workspaceDir, "workspaceDir");
        Objects.requireNonNull(uploadDir, "uploadDir");
        Objects.requireNonNull(outputDir, "outputDir");
    }

    public static final FilesystemPolicy DEFAULT = new FilesystemPolicy(
            "/workspace", true, 256, false, "/workspace/uploads", "/workspace/outputs");

    public long maxSizeBytes() {
        return maxSizeMb * 1024L * 1024L;
    }
}
