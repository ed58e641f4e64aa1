package dev.cordon.fs;

import dev.cordon.policy.FilesystemPolicy;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What one session's filesystem gate shows to guest code.
 *
 * @param policy              the filesystem policy ({@code workspace_dir}, {@code writable},
 *                            {@code max_size_mb}, upload and output dirs)
 * @param hostWorkspace       the host directory guest code sees as {@code workspace_dir} (created
 *                            if missing)
 * @param hostTmp             the host directory guest code sees as {@code /tmp}: per session,
 *                            counted in the same quota; best on the same filesystem as
 *                            {@code hostWorkspace} so {@code os.replace} between them is atomic
 * @param protectedGuestPaths guest paths of Cordon's own files (log file, audit and egress logs)
 *                            that guest code may read but never change; paths outside the
 *                            workspace and {@code /tmp} are ignored (guest code cannot reach them)
 * @param readOnlyHostDirs    extra host directories guest code may read, at their own paths (e.g.
 *                            pure-Python site packages); links inside them may not lead out
 */
public record WorkspaceLayout(FilesystemPolicy policy, Path hostWorkspace, Path hostTmp,
        List<String> protectedGuestPaths, List<Path> readOnlyHostDirs) {

    public WorkspaceLayout {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(hostWorkspace, "hostWorkspace");
        Objects.requireNonNull(hostTmp, "hostTmp");
        protectedGuestPaths = List.copyOf(protectedGuestPaths);
        readOnlyHostDirs = List.copyOf(readOnlyHostDirs);
    }

    public WorkspaceLayout(FilesystemPolicy policy, Path hostWorkspace, Path hostTmp) {
        this(policy, hostWorkspace, hostTmp, List.of(), List.of());
    }
}
