package dev.cordon.agent;

import dev.cordon.agent.boot.CordonHooks;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Set;
import net.bytebuddy.asm.Advice;

/**
 * The advice Cordon inlines into JDK classes. Each piece only forwards to
 * {@link CordonHooks} (bootstrap class, JDK types only): the JDK code it lands in can link to
 * nothing else. What is hooked, and why there:
 * <ul>
 *   <li>{@code sun.nio.ch.SocketChannelImpl}, {@code ServerSocketChannelImpl},
 *       {@code DatagramChannelImpl}: the channels GraalPy's emulated socket module is built on
 *       ({@code EmulatedPosixSupport}); also {@code java.net.http} and NIO clients.</li>
 *   <li>{@code sun.nio.ch.NioSocketImpl.connect/listen}: {@code java.net.Socket}/{@code ServerSocket}.</li>
 *   <li>{@code java.net.InetAddress.getAllByName} (every forward lookup, {@code getByName} calls it),
 *       {@code getAddressesFromNameService} (the name-service funnel: last resort for any other
 *       path), {@code getHostFromNameService} (reverse lookups).</li>
 *   <li>Files and processes (tripwire): {@code sun.nio.fs.UnixChannelFactory} (every NIO open),
 *       {@code UnixFileSystemProvider} (directory listing and mutations),
 *       {@code java.io.FileInputStream/FileOutputStream/RandomAccessFile.open},
 *       {@code java.io.UnixFileSystem} mutations, {@code java.lang.ProcessImpl.start}.</li>
 * </ul>
 */
final class HookAdvice {

    private HookAdvice() { }

    // ------------------------------------------------------------------ TCP client

    static final class TcpConnect {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self, @Advice.Argument(0) SocketAddress remote) throws Exception {
            CordonHooks.connect(self, remote, CordonHooks.TCP);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self) {
            CordonHooks.connected(self, CordonHooks.TCP);
        }
    }

    /** {@code java.net.Socket} through {@code NioSocketImpl}: decided, not byte-counted. */
    static final class SocketImplConnect {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self, @Advice.Argument(0) SocketAddress remote) throws Exception {
            CordonHooks.connect(self, remote, CordonHooks.TCP);
        }
    }

    static final class SocketImplListen {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self) throws Exception {
            CordonHooks.bind(self, null, CordonHooks.TCP_LISTEN);
        }
    }

    static final class TcpBind {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self, @Advice.Argument(0) SocketAddress local) throws Exception {
            CordonHooks.bind(self, local, CordonHooks.TCP);
        }
    }

    // ------------------------------------------------------------------ TCP server

    static final class ListenBind {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self, @Advice.Argument(0) SocketAddress local) throws Exception {
            CordonHooks.bind(self, local, CordonHooks.TCP_LISTEN);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self) {
            CordonHooks.bound(self, CordonHooks.TCP_LISTEN);
        }
    }

    static final class Accept {
        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Return Object client) throws Exception {
            CordonHooks.accepted(self, client);
        }
    }

    // ------------------------------------------------------------------ UDP

    static final class UdpConnect {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self, @Advice.Argument(0) SocketAddress remote) throws Exception {
            CordonHooks.connect(self, remote, CordonHooks.UDP);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self) {
            CordonHooks.connected(self, CordonHooks.UDP);
        }
    }

    static final class UdpBind {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object self, @Advice.Argument(0) SocketAddress local) throws Exception {
            CordonHooks.bind(self, local, CordonHooks.UDP);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self) {
            CordonHooks.bound(self, CordonHooks.UDP);
        }
    }

    static final class UdpSend {
        @Advice.OnMethodEnter
        static int enter(@Advice.This Object self, @Advice.Argument(0) ByteBuffer src,
                @Advice.Argument(1) SocketAddress target) throws Exception {
            CordonHooks.sendTo(self, target);
            return src.position();
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Argument(0) ByteBuffer src, @Advice.Enter int start,
                @Advice.Return int n) {
            CordonHooks.wrote(self, src, start, n);
        }
    }

    static final class UdpReceive {
        @Advice.OnMethodEnter
        static int enter(@Advice.Argument(0) ByteBuffer dst) {
            return dst.position();
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Argument(0) ByteBuffer dst, @Advice.Enter int start,
                @Advice.Return Object from) {
            if (from != null) {
                CordonHooks.read(self, dst, dst.position() - start);
            }
        }
    }

    // ------------------------------------------------------------------ bytes (egress log)

    static final class Read {
        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Argument(0) ByteBuffer dst, @Advice.Return int n) {
            CordonHooks.read(self, dst, n);
        }
    }

    static final class ReadVector {
        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Return long n) {
            CordonHooks.read(self, null, n);
        }
    }

    static final class Write {
        @Advice.OnMethodEnter
        static int enter(@Advice.Argument(0) ByteBuffer src) {
            return src.position();
        }

        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Argument(0) ByteBuffer src, @Advice.Enter int start,
                @Advice.Return int n) {
            CordonHooks.wrote(self, src, start, n);
        }
    }

    static final class WriteVector {
        @Advice.OnMethodExit
        static void exit(@Advice.This Object self, @Advice.Return long n) {
            CordonHooks.wrote(self, null, 0, n);
        }
    }

    static final class Close {
        @Advice.OnMethodExit(onThrowable = Throwable.class)
        static void exit(@Advice.This Object self) {
            CordonHooks.closed(self);
        }
    }

    // ------------------------------------------------------------------ names

    static final class Resolve {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static InetAddress[] enter(@Advice.Argument(0) String host) throws Exception {
            return CordonHooks.resolve(host);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.Enter InetAddress[] answer,
                @Advice.Return(readOnly = false) InetAddress[] result) {
            if (answer != null) {
                result = answer;
            }
        }
    }

    static final class NameService {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) String host) throws Exception {
            CordonHooks.nameService(host);
        }
    }

    static final class Reverse {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static String enter(@Advice.Argument(0) InetAddress address) {
            return CordonHooks.reverse(address);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.Enter String answer, @Advice.Return(readOnly = false) String result) {
            if (answer != null) {
                result = answer;
            }
        }
    }

    // ------------------------------------------------------------------ tripwire: files

    /** {@code UnixChannelFactory.newFileChannel(int dfd, UnixPath, Set, int)}: every NIO file open. */
    static final class NioOpen {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) int dfd, @Advice.Argument(1) Object path,
                @Advice.Argument(2) Set<?> options) throws Exception {
            CordonHooks.fileOpen(dfd, path, options);
        }
    }

    /** {@code UnixChannelFactory.newAsynchronousFileChannel(UnixPath, Set, int, ThreadPool)}. */
    static final class NioOpenAsync {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) Object path, @Advice.Argument(1) Set<?> options) throws Exception {
            CordonHooks.fileOpen(path, options);
        }
    }

    static final class NioList {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) Object dir) throws Exception {
            CordonHooks.file(dir, CordonHooks.LIST);
        }
    }

    /** Delete, create-directory, link, symlink: the first argument is the path changed. */
    static final class NioMutate {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) Object path) throws Exception {
            CordonHooks.file(path, CordonHooks.MUTATE);
        }
    }

    /** Copy and move: source read (or removed), target written. */
    static final class NioCopyMove {
        @Advice.OnMethodEnter
        static void enter(@Advice.Origin("#m") String method, @Advice.Argument(0) Object source,
                @Advice.Argument(1) Object target) throws Exception {
            CordonHooks.file(source, method.equals("move") ? CordonHooks.MUTATE : CordonHooks.READ);
            CordonHooks.file(target, CordonHooks.MUTATE);
        }
    }

    static final class IoRead {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) String name) throws Exception {
            CordonHooks.file(name, CordonHooks.READ);
        }
    }

    static final class IoWrite {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) String name) throws Exception {
            CordonHooks.file(name, CordonHooks.WRITE);
        }
    }

    /** {@code RandomAccessFile.open(String, int mode)}: mode 1 is {@code O_RDONLY}. */
    static final class IoRandomAccess {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) String name, @Advice.Argument(1) int mode) throws Exception {
            CordonHooks.file(name, mode == 1 ? CordonHooks.READ : CordonHooks.WRITE);
        }
    }

    /** {@code java.io.UnixFileSystem} delete/createDirectory/createFileExclusively: the first argument is changed. */
    static final class IoMutate {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) Object path) throws Exception {
            CordonHooks.file(path, CordonHooks.MUTATE);
        }
    }

    /** {@code java.io.UnixFileSystem.rename(File, File)}. */
    static final class IoRename {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) Object from, @Advice.Argument(1) Object to) throws Exception {
            CordonHooks.file(from, CordonHooks.MUTATE);
            CordonHooks.file(to, CordonHooks.MUTATE);
        }
    }

    static final class IoList {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) Object dir) throws Exception {
            CordonHooks.file(dir, CordonHooks.LIST);
        }
    }

    // ------------------------------------------------------------------ tripwire: processes

    static final class ProcessStart {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) String[] command, @Advice.Argument(2) String dir) throws Exception {
            CordonHooks.exec(command, dir);
        }
    }
}
