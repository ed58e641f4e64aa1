# Cordon seccomp profile: loaded into every native-tier sandbox (one-shot commands and the Python
# worker) by bwrap --seccomp, compiled once per JVM with libseccomp (dev.cordon.nativetier.Seccomp).
#
# It is a deny list on top of the namespaces: what it removes is kernel attack surface and ways
# around the other layers, not what the policy already blocks by construction. We do not know which
# arguments trigger a future kernel bug (gVisor's caveat), so whole syscalls go, not argument shapes,
# except for socket() and clone() where the argument is the point.
#
# Errors instead of kills: guest code sees a clean OSError (EPERM, EAFNOSUPPORT, ENOSYS) and the
# result says what happened; nothing here needs the process dead.
# Syscalls of another ABI (i386 int 0x80 on x86_64) kill the process (libseccomp's bad-arch action),
# so the names below cannot be dodged through a second syscall table.
#
# Syntax, one rule a line:
#   [egress] | [no-egress]   optional: the rule applies only when the policy allows / denies egress
#   errno NAME               the action: fail with that errno
#   SYSCALL                  the syscall name as libseccomp knows it
#   aN==V | aN&M==V          optional argument comparisons (masked equality); numbers in hex or decimal
# Arguments that are C ints are compared through the mask 0xffffffff: the kernel truncates them, so
# an unmasked 64-bit compare could be dodged by setting the upper half.
default allow

# Debugging and reading other processes' memory.
errno EPERM ptrace
errno EPERM process_vm_readv
errno EPERM process_vm_writev
errno EPERM kcmp

# Filesystem topology: the sandbox's view is fixed by bwrap before this filter loads.
errno EPERM mount
errno EPERM umount2
errno EPERM pivot_root
errno EPERM chroot
errno EPERM move_mount
errno EPERM open_tree
errno EPERM fsopen
errno EPERM fsconfig
errno EPERM fsmount
errno EPERM fspick
errno EPERM mount_setattr
errno EPERM name_to_handle_at
errno EPERM open_by_handle_at
errno EPERM quotactl
errno EPERM quotactl_fd
errno EPERM swapon
errno EPERM swapoff

# Namespaces: no new ones, no joining others (bwrap --disable-userns covers user namespaces too).
errno EPERM unshare
errno EPERM setns
errno EPERM clone a0&0x00020000==0x00020000
errno EPERM clone a0&0x02000000==0x02000000
errno EPERM clone a0&0x04000000==0x04000000
errno EPERM clone a0&0x08000000==0x08000000
errno EPERM clone a0&0x10000000==0x10000000
errno EPERM clone a0&0x20000000==0x20000000
errno EPERM clone a0&0x40000000==0x40000000
# clone3 passes its flags in memory, which seccomp cannot read: ENOSYS makes glibc fall back to clone.
errno ENOSYS clone3

# Kernel keyrings, eBPF, io_uring (its own syscall path around this filter), modules, kexec.
errno EPERM keyctl
errno EPERM add_key
errno EPERM request_key
errno EPERM bpf
errno EPERM io_uring_setup
errno EPERM io_uring_enter
errno EPERM io_uring_register
errno EPERM init_module
errno EPERM finit_module
errno EPERM delete_module
errno EPERM kexec_load
errno EPERM kexec_file_load

# Profiling, fault injection helpers, raw I/O, host-wide state.
errno EPERM perf_event_open
errno EPERM userfaultfd
errno EPERM fanotify_init
errno EPERM iopl
errno EPERM ioperm
errno EPERM acct
errno EPERM reboot
errno EPERM syslog
errno EPERM vhangup
errno EPERM settimeofday
errno EPERM clock_settime
errno EPERM clock_adjtime
errno EPERM adjtimex
errno EPERM sethostname
errno EPERM setdomainname
errno EPERM uselib

# Sockets. Families are allowed by listing: AF_UNIX always (the proxy bridge, multiprocessing),
# AF_INET/AF_INET6 only when the policy allows egress (the sandbox has loopback only, and egress
# goes through the host proxy). Every other family (AF_NETLINK 16, AF_PACKET 17, AF_ALG 38,
# AF_VSOCK 40, ...) fails with EAFNOSUPPORT. Ranges are written as masked equalities; families at
# or above AF_MAX (46) are refused by the kernel itself.
errno EAFNOSUPPORT socket a0&0xffffffff==0
[no-egress] errno EAFNOSUPPORT socket a0&0xfffffffe==2
[egress] errno EAFNOSUPPORT socket a0&0xffffffff==3
errno EAFNOSUPPORT socket a0&0xfffffffc==4
[no-egress] errno EAFNOSUPPORT socket a0&0xfffffff8==8
[egress] errno EAFNOSUPPORT socket a0&0xfffffffe==8
[egress] errno EAFNOSUPPORT socket a0&0xffffffff==11
[egress] errno EAFNOSUPPORT socket a0&0xfffffffc==12
errno EAFNOSUPPORT socket a0&0xfffffff0==16
errno EAFNOSUPPORT socket a0&0xffffffe0==32
# Raw and packet sockets of any family (SOCK_RAW 3, SOCK_PACKET 10; the low 4 bits are the type).
errno EPERM socket a1&0xf==3
errno EPERM socket a1&0xf==10
errno EAFNOSUPPORT socketpair a0&0xffffffff==0
errno EAFNOSUPPORT socketpair a0&0xfffffffe==2
errno EAFNOSUPPORT socketpair a0&0xfffffffc==4
errno EAFNOSUPPORT socketpair a0&0xfffffff8==8
errno EAFNOSUPPORT socketpair a0&0xfffffff0==16
errno EAFNOSUPPORT socketpair a0&0xffffffe0==32
