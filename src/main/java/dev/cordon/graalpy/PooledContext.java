package dev.cordon.graalpy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.EnvironmentAccess;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotAccess;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;

/**
 * A GraalPy context built and warmed up before its session exists, with late-bound gates.
 *
 * <p>Options, each for a reason: the emulated POSIX backend ({@code python.PosixModuleBackend=java})
 * so every file operation goes through our {@link FileSystem} (the native backend bypasses it); no
 * host class lookup, no host access, no polyglot access, no native access (so no ctypes); no host
 * environment; stdin empty; threads allowed (asyncio needs them) and tracked by {@link GuestThreads};
 * process creation on, decided by the bound process gate.
 */
final class PooledContext {

    /** Runs once per context: imports what nearly every call needs and installs the call hooks. */
    private static final Source BOOTSTRAP = Source.create("python", """
            # Everything lives in the function's closure, not in __main__: a fresh call clears
            # __main__, and guest code may rebind any global name.
            def __cordon_hooks():
                import sys, os, io, json, re, math, traceback, threading, weakref, builtins
                _open = io.open
                _files = weakref.WeakSet()
                def open(*args, **kwargs):
                    f = _open(*args, **kwargs)
                    try:
                        _files.add(f)
                    except TypeError:
                        pass
                    return f
                open.__doc__ = _open.__doc__
                builtins.open = open
                io.open = open
                _out, _err = sys.stdout, sys.stderr
                _keep = {'__name__', '__doc__', '__builtins__', '__loader__', '__spec__', '__package__'}
                def begin(cwd, fresh):
                    for name, orig, fd in (('stdout', _out, 1), ('stderr', _err, 2)):
                        cur = getattr(sys, name, None)
                        if cur is None or getattr(cur, 'closed', True):
                            s = orig if not orig.closed else io.TextIOWrapper(io.FileIO(fd, 'w', closefd=False), line_buffering=True)
                            setattr(sys, name, s)
                            setattr(sys, '__' + name + '__', s)
                    if fresh:
                        g = sys.modules['__main__'].__dict__
                        for k in [k for k in g if k not in _keep]:
                            del g[k]
                    if cwd:
                        os.chdir(cwd)
                def end():
                    # GraalPy has no reference counting: a file opened and written without close()
                    # would stay in its buffer until some GC. Flush what the call left open.
                    for f in list(_files):
                        try:
                            if not f.closed:
                                f.flush()
                        except BaseException:
                            pass
                    for s in (sys.stdout, sys.stderr):
                        try:
                            s.flush()
                        except BaseException:
                            pass
                return begin, end
            __cordon_result = __cordon_hooks()
            del __cordon_hooks
            __cordon_result
            """);

    final Context context;
    final SwitchableFileSystem fileSystem;
    final SwitchableProcessHandler processHandler;
    final RedirectStream stdout = new RedirectStream();
    final RedirectStream stderr = new RedirectStream();
    final RedirectInput stdin = new RedirectInput();
    final ContextShape shape;
    private final Value begin;
    private final Value end;

    private PooledContext(ContextShape shape) {
        this.shape = shape;
        // Until the context is bound to a session it may only read the runtime's own files
        // (allowLanguageHomeAccess is deprecated in 25.0.3 and leaves them writable).
        FileSystem warmup = FileSystem.newReadOnlyFileSystem(
                FileSystem.allowInternalResourceAccess(FileSystem.newDenyIOFileSystem()));
        this.fileSystem = new SwitchableFileSystem(warmup);
        this.processHandler = new SwitchableProcessHandler(cmd -> {
            throw new IOException("process creation is not available before the session is bound");
        });
        Context.Builder b = Context.newBuilder("python")
                .engine(SharedEngine.get().engine())
                // The gates do host I/O on guest threads: GatePermit tells the agent's tripwire that these
                // opens and process starts came through a gate (anything else on a guest thread is blocked).
                .allowIO(IOAccess.newBuilder().fileSystem(dev.cordon.agent.GatePermit.fileSystem(fileSystem))
                        .allowHostSocketAccess(shape.socketAccess()).build())
                .allowHostAccess(HostAccess.NONE)
                .allowHostClassLookup(name -> false)
                .allowHostClassLoading(false)
                .allowPolyglotAccess(PolyglotAccess.NONE)
                .allowNativeAccess(false)
                .allowCreateThread(true)
                .allowCreateProcess(true)
                .processHandler(dev.cordon.agent.GatePermit.processHandler(processHandler))
                .allowEnvironmentAccess(EnvironmentAccess.NONE)
                .allowValueSharing(false)
                .allowInnerContextOptions(false)
                .out(stdout)
                .err(stderr)
                .in(stdin)
                .option("python.PosixModuleBackend", "java")
                .option("python.DontWriteBytecodeFlag", "true");
        shape.environment().forEach(b::environment);
        if (!shape.pythonPath().isEmpty()) {
            b.option("python.PythonPath",
                    shape.pythonPath().stream().map(Path::toString).collect(Collectors.joining(":")));
        }
        this.context = b.build();
        context.eval(Source.create("python", dev.cordon.net.GuestPrelude.SOURCE));
        Value hooks = context.eval(BOOTSTRAP);
        context.eval("python", "del __cordon_result");
        this.begin = hooks.getArrayElement(0);
        this.end = hooks.getArrayElement(1);
    }

    static PooledContext create(ContextShape shape) {
        return new PooledContext(shape);
    }

    void beginCall(String cwd, boolean freshGlobals) {
        begin.execute(cwd, freshGlobals);
    }

    void endCall() {
        end.execute();
    }

    void close() {
        try {
            context.close(true);
        } catch (RuntimeException e) {
            // A context that is already closing or wedged: nothing more we can do for it here.
        }
    }
}
