# Cordon no-exec profile: stacked by the native Python worker on itself (after the sandbox profile)
# when it must not start any program: subprocess.allow is false, or the kernel has no Landlock to
# restrict which programs may run. execve/execveat fail with EACCES; fork() still works, so
# multiprocessing's default fork start method is unaffected.
default allow
errno EACCES execve
errno EACCES execveat
