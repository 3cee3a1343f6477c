#!/usr/bin/env python3
"""Selkie's QEMU system tests.

Each case boots Selkie with an INIT command line (scripts/qemu.sh, under a
timeout), takes the console output of each command (the text between the
root task's `selkie: init:` and `selkie: exit N (...)` lines, without the
LibOS's own `selkie:` log lines), and checks the exit statuses and the output.
Differential cases also run the same binary natively on the host and require
identical output and status.

The file system runs in the fs service task (the default build); with
`--fs inproc` the cases in FS_CASES run against build/roottask-inproc.elf,
the build with the file system linked into the LibOS.

With `--net inproc` the cases in NET_SOCKET_CASES and NET_CASES run against
build/roottask-netinproc.elf, the network stack linked into the LibOS.

Usage: tests/system.py [-k SUBSTRING] [-v] [--fs task|inproc] [--net task|inproc]
"""
import argparse
import concurrent.futures
import difflib
import hashlib
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lines the applet sweep must print (in order), whichever busybox runs it.
SWEEP_EXPECT = [r"^== sort$", r"^      2 banana$", r"^== awk$", r"^1 2 6 24 120 720 5040 40320 362880 3628800 $",
                r"^== sha256sum$", r"^ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -$",
                r"^== tar$", r"^-rw-r--r-- root/root         4 2021-03-04 05:06:07 tree/sub/deeper/three.dat$",
                r"^== xzcat$", r"^hello from xz$", r"^== unzip$", r"^alpha in a zip$",
                r"^== date$", r"^Thu Jan  1 00:00:00 UTC 1970$", r"^4294967297: 641 6700417$",
                r"^applets: ([89]\d|[1-9]\d\d+)$"]

# name, INIT, expected statuses per command, expected output (regexes in order) per command,
# differential (run natively too and compare; "tty": natively on a pseudo-terminal;
# "host": natively outside the guest's tree)
CASES = [
    ("hello-argv-auxv", '/tests/hello x "y z"', [0],
     [[r"^hello from /tests/hello$", r"^argc=3$", r"^argv\[1\]=x$", r"^argv\[2\]=y z$",
       r"^envp has entries: yes$", r"^auxv ok$"]], True),
    ("static-pie", "/tests/hello-pie", [0], [[r"^hello from /tests/hello-pie$", r"^auxv ok$"]], True),
    ("malloc-100MB", "/tests/malloc100", [0], [[r"^malloc ok$"]], True),
    ("tls", "/tests/tls", [0], [[r"^tls ok$"]], True),
    ("efault", "/tests/efault", [0], [[r"^efault ok$"]], True),
    ("memory-syscalls", "/tests/mem", [0], [[r"^mprotect: 0$", r"^MAP_FIXED_NOREPLACE again: EEXIST$"]], True),
    ("misc-syscalls", "/tests/misc", [0], [[r"^uname: Linux x86_64$", r"^/proc/self/exe matches argv\[0\]: yes$"]], False),
    ("enosys", "/tests/enosys", [0],
     [[r"^selkie: pid \d+: syscall 248 \(add_key\) not implemented: ENOSYS$", r"^add_key: ENOSYS$",
       r"^syscall 100000: ENOSYS$", r"^enosys ok$"]], False),
    ("segv-then-next-program", "/tests/segv; /tests/hello after", [139, 0],
     [[r"^about to crash$", r"^selkie: pid \d+ \(segv\) killed by SIGSEGV: address 0x0 \(not mapped\), ip 0x[0-9a-f]+ \(in 0x[0-9a-f]+-0x[0-9a-f]+ r-x /tests/segv\)$"],
      [r"^hello from /tests/hello$", r"^auxv ok$"]], False),
    ("sigill", "/tests/ill", [132], [[r"^about to execute ud2$", r"killed by SIGILL"]], True),
    ("mprotect-readonly-write-segv", "/tests/rofault", [139], [[r"^read back 1, now writing$",
     r"^selkie: pid \d+ \(rofault\) killed by SIGSEGV: address 0x[0-9a-f]+ \(in 0x[0-9a-f]+-0x[0-9a-f]+ r-- anonymous\), ip "]], True),
    ("exit-status", "/tests/exitcode 42", [42], [[]], True),
    ("console-tty", "/tests/tty; /usr/bin/tty", [0, 0],
     [[r"^isatty\(1\): 1$", r"^tcgetattr: 0 icanon=1 echo=1$", r"^TIOCGWINSZ: 0 rows>0=1 cols>0=1$"],
      [r"^/dev/console$"]], False),
    ("glibc-busybox-echo", "/bin/busybox-glibc echo hello world", [0], [[r"^hello world$"]], True),
    ("glibc-static-pie-ldconfig", "/sbin/ldconfig --version", [0], [[r"^ldconfig \(Debian GLIBC "]], True),
    ("musl-mksh", '/bin/mksh -c "echo ok"', [0], [[r"^ok$"]], True),
    ("missing-binary", "/no/such/program", [127], [[r"^selkie: /no/such/program: No such file or directory$"]], False),
    ("not-an-elf", "/tests/notelf", [126], [[r"^selkie: exec /tests/notelf: not an ELF file \(ENOEXEC"]], False),
    ("not-executable", "/etc/passwd", [126], [[r"^selkie: exec /etc/passwd: EACCES"]], False),
    ("fork-exec-wait", "/tests/procs", [0],
     [[r"^fork: waited right child: yes, exited=1 status=7$",
       r"^copy-on-write: parent still sees 1 and 'parent data'$",
       r"^fork\+exec: status 5$", r"^vfork\+exec: status 6$", r"^exec missing: ENOENT$",
       r"^exec non-ELF: refused$", r"^WNOHANG while the child sleeps: 0$",
       r"^child slept: status 3, waited >= 100 ms: yes, < 2 s: yes$",
       r"^crashing child: signaled=1 signal=11$", r"^no children left: ECHILD$",
       r"^20 children reaped, status sum 190$"]], True),
    ("glibc-sh-runs-programs", '/bin/busybox-glibc sh -c "/tests/hello from-sh; /tests/exitcode 4; echo rc=$?; exit 9"', [9],
     [[r"^hello from /tests/hello$", r"^argv\[1\]=from-sh$", r"^rc=4$"]], True),
    ("signals", "/tests/signals", [140],
     [[r"^handler ran for signal 10$", r"^SIGCHLD: count=1 info ok=1 status=4$", r"^pause: -1 EINTR, alarms=1$",
       r"^child killed: signaled=1 sig=15$", r"^ignored signal: still alive$"]], True),
    ("fault-signal-handlers", "/tests/faults", [0],
     [[r"^SIGSEGV caught: sig=11 addr=0x10 code=1$", r"^write redone after the handler: 42 \(handler ran 1 time\), registers intact: yes$",
       r"^stack overflow caught on the alternate stack: sig=11 deep=yes$", r"^SIGFPE caught: sig=8 code=1$",
       r"^SIGILL caught: sig=4$"]], True),
    ("pthreads", "/tests/threads", [0],
     [[r"^counter=800000 \(expected 800000\), join values sum=280, tls per thread ok=1, main tls=-1$",
       r"^condvar: waiter returned 7$", r"^timed wait: ETIMEDOUT$",
       r"^pthread_kill interrupted the sleeping thread: yes$"]], True),
    # Not differential: Linux does not apply RLIMIT_NPROC to root; Selkie does.
    ("shared-memory-mremap-waitid-nproc", "/tests/memproc", [0],
     [[r"^waitid: 0 pid ok=1 code=1 status=0$", r"^MAP_SHARED sees the child's write: 42 7; MAP_PRIVATE keeps 1$",
       r"^mremap grow: ok, contents 'keep me', new tail writable: yes$", r"^mremap shrink in place: yes$",
       r"^MADV_DONTNEED zeroes private memory: yes$", r"^waitid with no children: ECHILD$",
       r"^exec chain of 4 images: status 33$", r"^child leads its own group: yes$",
       r"^fork bomb: stopped with EAGAIN=1 after fewer than 1000: yes$",
       r"^still alive after the fork bomb: yes$"]], False),
    ("signals-to-busy-threads", "/tests/asyncsig", [0],
     [[r"^busy loop interrupted by another process: SIGUSR1$", r"^busy loop interrupted by its timer: SIGALRM$",
       r"^spinning thread interrupted by pthread_kill: SIGUSR2$",
       r"^raised 1000 times: 1000 handled in the raising thread, 0 elsewhere; 0 of 100 kills failed, 100 handled$",
       r"^busy child killed by: SIGTERM$",
       r"^asyncsig ok$"]], True),
    # make bench's binary keeps working (its numbers are not checked: no test asserts a time).
    ("bench-binary", "/tests/bench getpid fork_exec_wait pipe_bandwidth", [0],
     [[r"^BENCH getpid [0-9.]+ ns$", r"^BENCH pipe_bandwidth [0-9.]+ MB/s$", r"^BENCH fork_exec_wait [0-9.]+ ns$",
       r"^BENCH done$"]], False),
    ("vdso", "/tests/vdso", [0],
     [[r"^vDSO mapped: yes$", r"^vDSO clocks agree with the syscall: yes$", r"^gettimeofday and time agree: yes$"]], True),
    ("stop-continue-and-fork-with-threads", "/tests/jobs", [0],
     [[r"^stopped: 1 sig=19$", r"^continued: 1$", r"^then killed: 1 sig=15$",
       r"^SIGCHLD codes: 5 6 2 \(stopped, continued, killed\)$",
       r"^fork with a second thread running: child status 21$"]], True),
    ("cpu-time-and-robust-mutex", "/tests/cputime", [0],
     [[r"^getrusage sees >= 100 ms of CPU: yes; maxrss > 0: yes$", r"^process CPU clock >= 100 ms: yes$",
       r"^wait4 rusage and times\(\) count the child: yes yes$",
       r"^robust mutex after its owner died: EOWNERDEAD$"]], True),
    ("sigtimedwait-ppoll-pselect", "/tests/sigwait", [0],
     [[r"^sigtimedwait: 17 pid ok=1 status=3$", r"^nothing pending: -1 EAGAIN$", r"^already pending: 17$",
       r"^ppoll lets the blocked signal in: -1 EINTR handler=1, blocked again after: 1$",
       r"^pselect timeout under a mask: 0, SIGUSR1 still blocked: 1$",
       r"^ppoll with a ready fd: 1, signal still pending: 1, handler=1$", r"^unblocked: handler=2$",
       r"^queued: SIGUSR2/SI_USER/1 RTMIN\+1/SI_QUEUE/10 RTMIN\+1/SI_QUEUE/20 RTMIN\+1/SI_QUEUE/30 then EAGAIN$"]], True),
    ("files-directories-pipes", "/tests/files", [0],
     [[r"^create: ok$", r"^readdir: ok$", r"^dup2 redirection: ok$", r"^pipe carried 10000 bytes then EOF: ok$",
       r"^EPIPE: ok$", r"^/dev/zero: ok$", r"^select timeout: ok$",
       r"^select wrote back the time left: none: ok$", r"^select wakes on data: ok$",
       r"^select wrote back the time left: some: ok$", r"^poll sees data: ok$", r"^select on a closed fd: EBADF: ok$",
       r"^unlink while listing: all 100: ok$"]], True),
    # Names are bytes: 0x80-0xff and invalid UTF-8 in file names, paths,
    # getcwd, readlink, symlink targets and execve, compared with Linux.
    ("byte-file-names", "/tests/bytenames", [0],
     [[r"^after create: ", r"^read the 128-byte name: file 7$", r"^getcwd: /tmp/bytenames/d\\xfe$",
       r"^exec through \\xbb: exit 0$", r"^script with a byte interpreter: exit 7$", r"^at the end:$",
       r"^rmdir /tmp/bytenames: 0$"]], True),
    ("record-locks-and-flock", "/tests/locks", [0],
     [[r"^child F_GETLK: type=F_WRLCK start=0 len=10 pid is parent: yes$",
       r"^child F_SETLK on a locked range: -1 EAGAIN$", r"^parent write lock on the child's read lock: -1 EAGAIN$",
       r"^child F_SETLKW: 0 after waiting >= 50 ms: yes$", r"^child exited 0; its locks went with it: yes$",
       r"^while the child holds it: locked$", r"^after it closed another descriptor: free$",
       r"^write lock through a read-only descriptor: -1 EBADF$",
       r"^child, same description, LOCK_EX\|LOCK_NB: 0$", r"^child, own description, LOCK_SH\|LOCK_NB: -1 EWOULDBLOCK$",
       r"^fcntl lock while a flock is held: 0$", r"^child LOCK_SH: 0 after waiting >= 50 ms: yes$",
       r"^flock with a bad operation: -1 EINVAL$",
       r"^flock on a pipe: 0, the other end: -1 EWOULDBLOCK$", r"^after the first end closed: 0$"]], True),
    ("epoll-and-eventfd", "/tests/epoll", [0],
     [[r"^eventfd read returns the count: ok$", r"^eventfd write past the maximum: EAGAIN$",
       r"^eventfd full: poll=1 revents=0x1$", r"^semaphore reads: 1 1 then EAGAIN$",
       r"^blocking eventfd read: 8 value=7 waited >= 40 ms: yes$",
       r"^add again: EEXIST$", r"^add a regular file: EPERM$", r"^nest back \(a loop\): ELOOP$",
       r"^events at a kernel address: EFAULT$",
       r"^timeout: n=0 waited >= 50 ms: yes$", r"^woken by a write: n=1 data=100 EPOLLIN=1 waited >= 40 ms: yes$",
       r"^edge-triggered: 1 then 0, after another write 1$", r"^one-shot: 1 then 0, re-armed 1$",
       r"^writer closed: n=1 EPOLLHUP=1 EPOLLIN=0$", r"^after closing the watched fd: 0$",
       r"^three ready, maxevents 1, three calls: all seen: yes$", r"^nested: n=1 data=9, poll on the inner: 1$",
       r"^eventfd signalled: n=1 data=55$", r"^signal during epoll_wait \(SA_RESTART\): EINTR$",
       r"^epoll_pwait lets the blocked signal in: EINTR$", r"^mask restored after epoll_pwait: yes$",
       r"^epoll done$"]], True),
    ("terminal-job-control", "/tests/jobctl", [0],
     [[r"^background read: stopped by Stopped \(tty input\)$", r"^  read returned EIO$",
       r"^  read returned EIO$", r"^  read returned EINTR$", r"^  handler saw signal 21$",
       r"^  background write went through$", r"^background write under TOSTOP: stopped by Stopped \(tty output\)$",
       r"^background tcsetattr: stopped by Stopped \(tty output\)$", r"^  tcsetattr returned ok$",
       r"^  tcgetpgrp is the parent's group: yes$", r"^  after setsid, tcgetpgrp: ENOTTY$",
       r"^tcsetpgrp to the child: ok$", r"^foreground child: exited$",
       r"^tcsetpgrp back: ok, foreground again: yes$", r"^jobctl done$"]], "tty"),
    ("pseudo-terminals", "/tests/pty", [0],
     [[r"^open while locked: EIO$", r"^slave opens: yes, isatty: 1$", r"^ttyname is the slave: yes$",
       r"^echo: abc$", r"^slave read 4 bytes: abc$", r"^slave output through ONLCR: yes$",
       r"^child on the slave: yes$", r"^  foreground: yes, session: yes$", r"^child line: yes$",
       r"^window size change seen: yes$", r"^\^C: yes$", r"^raw mode: yes$", r"^\^C in raw mode is a byte: yes$",
       r"^child exited 3$", r"^master read after the slave closed: EIO$", r"^after the master closed: Hangup$",
       r"^MIN 0 TIME 2, nothing typed: read 0, after the timeout$", r"^MIN 3 TIME 2, one byte typed: read 1, after the timeout$",
       r"^pty done$"]], "host"),
    # Not run natively: mounting needs privileges a CI host may not grant
    # (the expected lines are what Linux prints, as root).
    ("mount-tmpfs", "/tests/mount", [0], [[r"^mount: 0$", r"^root mode: 750$", r"^covered file hidden: ENOENT$", r"^listed: 1$", r"^statfs: tmpfs 1, blocks 16 of 4096 bytes$", r"^write: 5$", r"^read back: hello$", r"^rename out: EXDEV$", r"^link out: EXDEV$", r"^rename inside: 0$", r"^filled: ENOSPC after 40-64 KiB$", r"^rmdir of the mount point: EBUSY$", r"^umount while open: EBUSY$", r"^umount with cwd inside: EBUSY$", r"^cwd after \.\.: /tmp$", r"^remount ro: 0$", r"^create on ro: EROFS$", r"^statfs ro flag: 1$", r"^listed ro: 1$", r"^remount rw: 0$", r"^create on rw: 0$", r"^umount: 0$", r"^file gone: ENOENT$", r"^covered file back: 0$", r"^not listed: 1$", r"^lazy umount: 0$", r"^gone from the tree: ENOENT$", r"^open file reads: still$", r"^umount a plain directory: EINVAL$", r"^umount /: EBUSY$", r"^umount nothing: ENOENT$", r"^umount2 bad flags: EINVAL$", r"^unknown type: ENODEV$", r"^on a file: ENOTDIR$", r"^on nothing: ENOENT$", r"^bad size: EINVAL$", r"^bad pointer: EFAULT$", r"^mount done$"]], False),
    ("busybox-mount-df", "/bin/sh -c 'mkdir -p /mnt/t && mount -t tmpfs -o size=1m,mode=700 scratch /mnt/t && echo hi > /mnt/t/f && mount | grep /mnt/t && df -k /mnt/t | tail -1 && stat -c %a /mnt/t && umount /mnt/t && ls /mnt/t | wc -l'", [0],
     [[r"^scratch on /mnt/t type tmpfs \(rw\)$", r"^scratch\s+1024\s+4\s+1020\s+0% /mnt/t$", r"^700$", r"^0$"]], False),
    ("extended-attributes", "/tests/xattr", [0],
     [[r"^get user.color: 4 = blue$", r"^list: user.color user.empty user.size$",
       r"^user. on the symlink itself: EPERM$", r"^xattr done$"]], True),
    ("splice-and-tee", "/tests/splice", [0],
     [[r"^pipe to file at offset 0: 11, offset now 11, file offset 0$", r"^the original, still there: abc$",
       r"^waited for a writer: 4$", r"^no readers: EPIPE$", r"^splice done$"]], True),
    ("unix-sockets", "/tests/unix", [0],
     [[r"^unknown family: EAFNOSUPPORT$", r"^/proc/self/fd link is socket:\[inode\]: yes$",
       r"^after the peer closed with data unread: 3 ECONNRESET 0$", r"^write after SHUT_WR: EPIPE, SIGPIPE 1$",
       r"^1 MiB through a blocking write: all bytes yes, intact: yes", r"^MSG_WAITALL of 30: 30, waited >= 60 ms: yes$",
       r"^write to a full socket with SO_SNDTIMEO: EAGAIN, waited >= 70 ms: yes$",
       r"^bind unix-test.sock: 0$", r"^connect to a missing path: ENOENT$", r"^connect to a regular file: ECONNREFUSED$",
       r"^autobound: length 8, leading NUL yes, five hex digits yes$",
       r"^non-blocking connect 2 with backlog 1: EAGAIN$", r"^recvmsg into 2 bytes: 2 'tw', MSG_TRUNC yes$",
       r"^received 2 with 'D', msg_flags 0x40000000, FD_CLOEXEC yes$",
       r"^sockets only messages in flight reach are collected: their write end's read: 0$",
       r"^SO_PASSCRED: 4, SCM_CREDENTIALS yes, pid is the child's yes",
       r"^peer's SHUT_WR: 1 events 0x2001$", r"^after exec, the kept socket: \d+ 'kept, other closed'$",
       r"^unix done$"]], "host"),
    # AF_INET over 127.0.0.1 (the LibOS's own loopback stack when the machine has no network card).
    ("inet-sockets", "/tests/inet", [0],
     [[r"^the server counted 1048576 bytes, checksum matches: yes$", r"^server exit: 0$",
       r"^accept: peer length 16, is the client's name: yes$",
       r"^after the peer closed with data unread: ECONNRESET$", r"^after the peer closed with SO_LINGER 0: ECONNRESET$",
       r"^MSG_WAITALL of 10: 10 '0123456789'$",
       r"^non-blocking connect: 0 or EINPROGRESS: yes$", r"^epoll: 1 event, EPOLLOUT yes, data 7$", r"^SO_ERROR: 0$",
       r"^blocking connect to a closed port: ECONNREFUSED$", r"^non-blocking connect to a closed port: ECONNREFUSED$",
       r"^bind to a listener's port: EADDRINUSE$", r"^write after SHUT_WR: EPIPE, SIGPIPE 1$",
       r"^accept on a socket not listening: EINVAL$", r"^recv on an unconnected TCP socket: ENOTCONN$",
       r"^recvmsg into 4: 4, MSG_TRUNC yes$", r"^SO_RCVTIMEO: EAGAIN, waited >= 50 ms: yes$",
       r"^lo: address 127.0.0.1, netmask 255.0.0.0, mtu 65536, index 1$", r"^inet done$"]], "host"),
    # busybox over loopback TCP: httpd serves wget, nc listens for nc; ifconfig shows lo's traffic, netstat httpd.
    ("busybox-httpd-wget-nc-loopback",
     "/bin/sh -c 'mkdir -p /tmp/www; echo hello from httpd > /tmp/www/index.html; httpd -p 127.0.0.1:8080 -h /tmp/www; "
     "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/ && break; sleep 0.2; done; "
     "nc -l -p 5000 > /tmp/got & for i in 1 2 3 4 5 6 7 8 9 10; do echo via nc | nc 127.0.0.1 5000 && break; sleep 0.2; done; "
     "wait %1; cat /tmp/got; ifconfig lo; route -n; netstat -tln'",
     [0], [[r"^hello from httpd$", r"^via nc$", r"^lo\s+Link encap:Local Loopback", r"inet addr:127\.0\.0\.1  Mask:255\.0\.0\.0",
            r"UP LOOPBACK RUNNING  MTU:65536", r"RX bytes:[1-9]\d* ", r"^Kernel IP routing table$",
            r"^tcp\s+0\s+0 127\.0\.0\.1:8080\s+0\.0\.0\.0:\*\s+LISTEN"]], False),
    # The card's interface as busybox shows it (ioctls and /proc/net); `ip` needs
    # netlink, which Selkie does not have.
    ("busybox-ifconfig-route-eth0", "/bin/sh -c 'ifconfig eth0; route -n; grep -c eth0 /proc/net/dev; ip addr'", [1],
     [[r"^eth0\s+Link encap:Ethernet  HWaddr 52:54:00:12:34:56", r"inet addr:10\.0\.2\.15  Bcast:10\.0\.2\.255  Mask:255\.255\.255\.0",
       r"UP BROADCAST RUNNING  MTU:1500", r"^0\.0\.0\.0\s+10\.0\.2\.2\s+0\.0\.0\.0\s+UG .* eth0$",
       r"^10\.0\.2\.0\s+0\.0\.0\.0\s+255\.255\.255\.0\s+U .* eth0$", r"^1$",
       r"^ip: socket: Address family not supported by protocol$"]], False),
    # syslogd binds /dev/log (an AF_UNIX datagram socket); logger sends to it.
    ("busybox-syslogd-and-logger",
     "/bin/sh -c 'syslogd -n -O /tmp/log & for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /dev/log ] && break; sleep 0.2; done; "
     "logger -t test hello from logger; logger -p daemon.err -t t2 second; "
     "for i in 1 2 3 4 5 6 7 8 9 10; do grep -q second /tmp/log && break; sleep 0.2; done; kill %1; wait; cat /tmp/log; stat -c \"%F %a %n\" /dev/log'",
     [0], [[r" syslog\.info syslogd started: BusyBox", r" user\.notice test: hello from logger$", r" daemon\.err t2: second$",
            r"^socket 666 /dev/log$"]], False),
    ("fifos", "/tests/fifo", [0],
     [[r"^a FIFO: yes, mode 644$", r"^write-only, non-blocking, no reader: ENXIO$", r"^poll: 1 POLLIN=1$",
       r"^read: 2 'hi'$", r"^fstat of an end: FIFO yes, same inode as the path: yes$",
       r"^reader waited for the writer: yes; read 'from the child'$", r"^writer waited for the reader: yes$",
       r"^child read 'to the child'$", r"^read back through it: 'loop'$", r"^waiting open interrupted: EINTR$",
       r"^no reader left behind: ENXIO$", r"^mknod S_IFDIR: EPERM$", r"major 1 minor 3, opens as /dev/null: yes$",
       r"^fifo done$"]], True),
    ("chroot", "/tests/chroot", [0],
     [[r"^chroot to a file: ENOTDIR$", r"^chroot to nothing: ENOENT$", r"^chroot \.: ok$", r"^cwd: /$",
       r"^/etc/name: inside the jail$", r"^/abs: inside the jail$", r"^cwd after cd \.\.: /$",
       r"^\.\./\.\./etc/name: inside the jail$", r"^/tests outside: ENOENT$", r"^hello from /hello$",
       r"^program in the jail exited 0$", r"^chroot done$"]], True),
    ("proc-fd-links-and-dev-fd", "/tests/devfd", [0],
     [[r"^/proc/self/fd lists 4 descriptors, its own among them: yes$", r"^written through /proc/self/fd/1$",
       r"^written through /dev/stdout$", r"^a pipe opened again: read 'x'$",
       r"^a file through /dev/fd has its own offset: 9 contents$", r"^readlink /dev/stdin: /proc/self/fd/0$",
       r"^lstat /dev/stdout is a link: yes$", r"^an eventfd opened again: ENXIO$", r"^devfd done$"]], "host"),
    ("private-file-mappings", "/tests/mmapfile", [0],
     [[r"^map: ok, contents match: yes$", r"^the rest of the last page is zeros: yes$",
       r"^a page past the end of the file: SIGBUS, BUS_ADRERR: yes$", r"^at offset 4096: yes$",
       r"^a private write stays private: yes$", r"^PROT_NONE, then readable: yes$", r"^the child sees the same: yes$",
       r"^write-only descriptor: EACCES$", r"^a directory: ENODEV$", r"^/dev/zero: ok, zeros: yes, writable: yes$",
       r"^mmapfile done$"]], True),
    ("non-pie-dynamically-linked-hello", '/tests-dyn/hello-nopie x', [0],
     [[r"^hello from /tests-dyn/hello-nopie$", r"^argc=2$", r"^argv\[1\]=x$", r"^auxv ok$"]], True),
    ("glibc-dynamic-coreutils",
     '/bin/sh -c "/opt/coreutils/ls -l /etc /tests/hello; for f in pear apple fig; do echo $f; done > /tmp/s; /opt/coreutils/sort /tmp/s; /opt/coreutils/sort --version | head -n 1"',
     [0], [[r"^-rwxr-xr-x 1 root root \d+ \w{3} [ \d]\d ([\d:]{5}| \d{4}) /tests/hello$", r"^/etc:$",
            r"^-rw-r--r-- 1 root root +\d+ \w{3} [ \d]\d ([\d:]{5}| \d{4}) group$", r"^apple$",
            r"^fig$", r"^pear$", r"^sort \(GNU coreutils\) 9\.1$"]], True),
    ("ofd-locks-and-copy-file-range", "/tests/ofdcopy", [0],
     [[r"^the same process, another description: EAGAIN$", r"^F_OFD_GETLK from b: type F_WRLCK start 0 len 10 pid -1$",
       r"^a POSIX lock of this process on the range: EAGAIN$", r"^a dup of a shares the lock: ok$",
       r"^l_pid not 0: EINVAL$", r"^closing a keeps the lock \(d is still open\): EAGAIN$",
       r"^child F_OFD_SETLKW on its own description: ok after >= 50 ms: yes$",
       r"^free after the child's description went: ok$",
       r"^copy from 12 to 20 \(a hole before it\): 4, offsets 16 24, file offsets unchanged: yes$",
       r"^contents: 0123456789\|00\|cdef size 24$", r"^overlapping ranges of one file: -1 EINVAL$",
       r"^ofdcopy done$"]], True),
    ("exhaustion-fds-argv-threads", "/tests/exhaust", [0],
     [[r"^opened 253 descriptors, the last 255, then: EMFILE$", r"^pipe with no descriptor left: EMFILE$",
       r"^after closing them, open: 3$", r"^one 200 KiB argument: E2BIG$", r"^62 arguments of 64 KiB: E2BIG$",
       r"^an environment of 4 MiB: E2BIG$", r"^threads alive at once: 1000$", r"^all joined, sum 499500$",
       r"^a program still runs afterwards: exit 0$", r"^exhaust done$"]], True),
    # ls -l / itself: the guest's root has /dev and /proc and other times than
    # the host's copy of the tree, so its lines are checked, not compared.
    ("glibc-dynamic-ls-l-root", "/opt/coreutils/ls -l /", [0],
     [[r"^total \d+$", r"^drwxr-xr-x +\d+ root root +\d+ \w{3} +\d+ +[\d:]+ bin$",
       r"^d[rwx-]{9} +\d+ root root +\d+ \w{3} +\d+ +[\d:]+ dev$",
       r"^dr-xr-xr-x +\d+ root root +\d+ \w{3} +\d+ +[\d:]+ proc$",
       r"^drwxrwxrwt +\d+ root root +\d+ \w{3} +\d+ +[\d:]+ tmp$"]], False),
    # The runner of `make suite`, on a sample suite: a pass, a failure, a crash.
    ("suite-runner", "/bin/sh /tests/suite-run /tests/suite-sample 20", [1],
     [[r"^FAIL fails \(exit 3\)$", r"^    about to fail$", r"^PASS passes$",
       r"^FAIL sub/crashes \(killed by signal 11\)$", r"^    about to crash$", r"^1 passed, 2 failed$"]], True),
    ("statx", "/tests/statx", [0],
     [[r"^file: same as stat$", r"^directory: same as stat$", r"^symlink followed: same as stat$",
       r"^symlink itself: same as stat$", r"^/dev/null: same as stat$", r"^/dev/null is 1:3$",
       r"^AT_EMPTY_PATH on a descriptor: 0, size 10, mode 640$", r"^unknown flag: -1 Invalid argument$",
       r"^bad buffer: -1 Bad address$", r"^statx done$"]], "host"),
    ("shared-file-mappings-and-process-shared-futexes", "/tests/mmapshared", [0],
     [[r"^map: ok, reads the file: yes$", r"^a store through the mapping is read by read\(2\): hELlo$",
       r"^write\(2\) shows in the mapping: written$", r"^a second mapping of page 1 sees the store: yes$",
       r"^the child's own mapping: from the child; the inherited one: inherited$",
       r"^past the end of the file: SIGBUS, BUS_ADRERR: yes, si_addr right: yes$",
       r"^after the file grows: readable, zeros: yes$", r"^after truncating: the cut bytes read zeros: yes$",
       r"^msync of unmapped memory: -1 ENOMEM$", r"^mremap keeps the file's pages: yes, and grows onto the next: yes$",
       r"^/proc/self/maps lists it: yes$", r"^after munmap and close the file holds: hELlo, from the child, M$",
       r"^writable shared map of a read-only descriptor: EACCES$",
       r"^three processes under one process-shared mutex: 60000$", r"^mmapshared done$"]], "host"),
    ("fpu-state-across-signals-fork-exec", "/tests/fpu", [0],
     [[r"^XMM registers survive a handler that clobbers them: yes$", r"^the frame has an FPU state: yes$",
       r"^the handler starts rounding to nearest: yes, MXCSR 0x1f80$", r"^after the handler: still toward zero: yes$",
       r"^a handler's change to the saved state comes back: yes$", r"^loop sum: 22456\.412582$",
       r"^timer signals during the loop: yes$", r"^a forked child keeps the rounding mode: yes$",
       r"^after exec: rounding to nearest: yes, MXCSR 0x1f80$", r"^fpu done$"]], True),
    ("busybox-script-on-a-pty",
     "/bin/sh -c \"script -q -c 'tty && echo hi from the pty && stty size' /tmp/ts && echo rc=$? && od -c /tmp/ts\"",
     [0], [[r"^/dev/pts/0$", r"^hi from the pty$", r"^24 80$", r"^rc=0$",
            r"^0000000   /   d   e   v   /   p   t   s   /   0  \\r  \\n   h   i       f$"]], False),
    ("busybox-shell-files-and-pipelines",
     '/bin/sh -c "mkdir -p /tmp/d && echo hello > /tmp/d/f && cat /tmp/d/f && echo one two three | wc -w && ls /tmp/d | cat && cat /tmp/d/f | tr a-z A-Z && rm /tmp/d/f && ls -a /tmp/d | wc -l"',
     [0], [[r"^hello$", r"^3$", r"^f$", r"^HELLO$", r"^2$"]], True),
    ("procfs-and-ps", '/bin/sh -c "grep -c ^Name /proc/self/status; ls /proc | grep -cx self; xargs -0 echo < /proc/1/cmdline; ps | head -n 1"',
     [0], [[r"^1$", r"^1$", r"^/bin/sh -c grep", r"^PID\s+USER\s+(TIME\s+)?COMMAND$"]], False),
    # reboot(2) ends the machine: the next command never runs.
    ("poweroff", '/bin/sh -c "echo bye; poweroff -f; echo reached: FAILED"; /tests/hello', [0],
     [[r"^bye$", r"^selkie: power off$"]], False),
    ("reboot", '/bin/sh -c "reboot -f; echo reached: FAILED"; /tests/hello', [0],
     [[r"^selkie: restarting$"]], False),
    # The fs service task dies (a test hook makes it panic, or fault, at a
    # request naming .selkie-fault): the root task reports it, file calls
    # fail with EIO from then on, and the LibOS and the shell go on.
    ("fs-task-panic", '/bin/sh -c "echo ok > /tmp/a; cat /tmp/a; cat /.selkie-fault; echo rc=$?; cat /tmp/a; echo rc=$?"', [0],
     [[r"^ok$", r"^selkie: the fs task panicked: panicked at .*", r"^fault injection: a request named .selkie-fault$",
       r"^selkie: the fs task is stopped; its clients get EIO$", r"^cat: can't open '/.selkie-fault': I/O error$",
       r"^rc=1$", r"^/bin/sh: cat: I/O error$", r"^rc=126$"]], False),
    ("fs-task-fault", '/bin/sh -c "echo ok > /tmp/a; cat /tmp/a; cat /.selkie-fault; echo rc=$?; ls /tmp; echo rc=$?"', [0],
     [[r"^ok$", r"^selkie: the fs task faulted: page fault at 0x10, ip 0x[0-9a-f]+$",
       r"^selkie: the fs task is stopped; its clients get EIO$", r"^cat: can't open '/.selkie-fault': I/O error$",
       r"^rc=1$", r"^/bin/sh: ls: I/O error$", r"^rc=127$"]], False),
    # Random syscalls with hostile arguments from child processes: the LibOS
    # must answer them all and keep serving.
    ("syscall-fuzzer", "/tests/fuzz 100000 7", [0],
     [[r"^fuzz: 100000 calls in 50 children \(.*\), the LibOS still answers: pid ok$"]], False),
    # Leak check: after every command, with no process left, the root task holds
    # the same objects and cap slots as after the first (a warm-up that makes
    # the one-time objects: the vDSO's frames); see LEAK_CHECKED. The mounts
    # start file-system tasks, and their umounts must give them all back.
    ("no-leaks-after-workloads",
     "/bin/sh -c true; /tests/procs; /tests/threads; /tests/mmapshared; /tests/mmapfile; /tests/files; "
     "/tests/mount; /bin/sh -c 'mkdir -p /tmp/lk && mount -t tmpfs -o size=1m lk /tmp/lk && "
     "dd if=/dev/zero of=/tmp/lk/f bs=1k count=600 2>/dev/null && umount /tmp/lk && rmdir /tmp/lk'; "
     "/tests/fifo; /tests/epoll; /tests/unix; /tests/locks; /tests/pty; /tests/signals; /tests/sigwait; /tests/asyncsig; "
     "/tests/exhaust; /tests/hog; /tests/badelf; /tests/fuzz 4000 9; /bin/sh -c true",
     [0] * 13 + [140] + [0] * 7, [[]] * 21, False),
    # Hostile resource use: the hog ends (ENOMEM, or killed), recursion dies
    # at the stack guard, and the next process works; then the LibOS runs on.
    ("memory-hog-and-recursion", "/tests/hog; /tests/hello", [0, 0],
     # mmap reserves nothing: the hog dies touching a page the pool cannot give.
     [[r"^selkie: pid \d+ \(hog\) killed by SIGKILL \(out of memory\): address 0x[0-9a-f]+ \(in ",
       r"^memory hog: killed by Killed after >= 64 MiB, killed while touching$",
       r"^selkie: out of memory: killed pid \d+ \(hog\), which held \d+ KiB$",
       r"^a small process allocates 8 MiB next to the hog: yes$", r"^the hog beside it: killed by Killed$",
       r"^unbounded recursion: killed by Segmentation fault$", r"^a new process afterwards: exited 0$"],
      [r"^hello from /tests/hello$"]], False),
    ("hostile-elf-files", "/tests/badelf", [0],
     [[r"^valid: ran, exit 7$", r"^truncated-header: exec failed: ENOEXEC$",
       r"^program-headers-past-the-end: exec failed: ENOEXEC$", r"^segment-past-the-end: exec failed: ENOEXEC$",
       r"^unaligned-segment: exec failed: ENOEXEC$", r"^huge-memsz: exec failed: ENOMEM$",
       r"^entry-outside-the-code: exec failed: ENOEXEC$", r"^overlapping-segments: exec failed: ENOEXEC$",
       r"^kernel-address-segment: exec failed: ENOEXEC$", r"^segment-over-the-stack: exec failed: ENOEXEC$",
       r"^interpreter-missing: exec failed: ENOENT$", r"^interpreter-past-the-end: exec failed: ENOEXEC$",
       r"^the caller went on after every one$"]], False),
    ("syscall-trace", "/tests/exitcode 3", [3],
     [[r"^selkie: \[1\] arch_prctl\(0x1002, ", r"^selkie: \[1\] exit_group\(3\) = \? \(no return\)$",
       r"^selkie: \[1\] \+\+\+ exited with 3 \+\+\+$"]], False),
    ("syscall-trace-decoded", '/bin/sh -c "/bin/cat /etc/nope; kill -USR1 $$"', [138],
     [[r'^selkie: \[\d+\] execve\("/bin/cat", \["/bin/cat", "/etc/nope"\], 0x[0-9a-f]+\) = \? \(no return\)$',
       r'^selkie: \[\d+\] open(at)?\((AT_FDCWD, )?"/etc/nope", O_RDONLY[^)]*\) = -1 ENOENT ',
       r"^selkie: \[\d+\] \+\+\+ exited with 1 \+\+\+$",
       r"^selkie: \[1\] kill\(1, SIGUSR1\) = 0$",
       r"^selkie: \[1\] \+\+\+ killed by SIGUSR1 \+\+\+$"]], False),
    ("musl-mksh-runs-programs", '/bin/mksh -c "/tests/exitcode 2; echo rc=$?; /tests/tls"', [0],
     [[r"^rc=2$", r"^tls ok$"]], True),
    # tests/applets/sweep.sh: over 100 busybox applets on fixed inputs, with each
    # busybox build; the output must match the same build run natively line by line.
    ("applet-sweep-musl-busybox", "/bin/sh /tests/applets/sweep.sh /bin/busybox", [0], [SWEEP_EXPECT], True),
    ("applet-sweep-glibc-busybox", "/bin/sh /tests/applets/sweep.sh /bin/busybox-glibc", [0], [SWEEP_EXPECT], True),
    # The default init, driven through the serial console: builtins only until fork exists.
    ("interactive-busybox-sh", "", [7],
     [[r"hi from sh$", r"^rc=3$", r"^hello$", r"^hello$", r"^\^C$", r"^rc=130$",
       r"^/tmp/a$", r"^HELLO$", r"^WORLD$", r"^2$", r"^1$", r"^a=1$", r"^b=2$", r"^2$", r"^5$",
       r"^/tmp/a /tmp/a/b /tmp/a/b/c$", r"^-rw-------", r"^lrwxrwxrwx", r"^hello$", r"^world$",
       r"^f h l$", r"^waited$", r"\[1\]\+\s+Running\s+sleep 100", r"^killed$",
       r"^PID\s+USER", r"^\^C$", r"^rc=130$", r"^sleep 1$", r"^back$", r"^hello vi$",
       r"^/dev/pts/0$", r"^in the pty$", r"^2$"]], False,
     ["echo hi from sh\r", "/tests/exitcode 3\r", "echo rc=$?\r",
      # cat reads the console in canonical mode (echo, a line at a time); ^C ends it.
      "cat\r", ("cat", "hello\r"), ("hello\r\nhello", "\x03"), "echo rc=$?\r",
      "cd /tmp && mkdir -p a/b/c && cd a && pwd\r",
      "echo hello > f; echo world >> f; tr a-z A-Z < f 2>&1\r",
      "cat <<EOF | wc -l\r", ("> ", "one\r"), ("> ", "two\r"), ("> ", "EOF\r"),
      "ls -l / | grep -c ' tmp$'\r",
      "printf 'b\\na\\nb\\n' | sort | uniq -c | awk '{print $2 \"=\" $1}'\r",
      "seq 1 5 | sed -n 2,3p | head -n 1; seq 1 5 | tail -n 1\r",
      "find /tmp/a -type d | sort | xargs echo\r",
      "cp f g && mv g h && ln -s h l && chmod 600 h && ls -l h l | cut -c1-10 && cat l\r",
      "rm -r /tmp/a/b && ls /tmp/a | xargs echo\r",
      "sleep 1 & wait; echo waited\r",
      "sleep 100 &\r", "jobs\r", "kill %1; wait; echo killed\r",
      "ps\r",
      # ^C ends the foreground job and the prompt comes back.
      "sleep 100\r", ("sleep 100", "\x03", 1.0), "echo rc=$?\r",
      "sleep 1 &\r", "fg\r", "echo back\r",
      # vi puts the terminal in raw mode and restores it.
      # Keys are typed once vi shows its screen, and Escape apart from ":wq"
      # (an Escape with more keys right behind it reads as an escape sequence).
      "vi /tmp/v.txt\r", ("100%", "i", 0.5), ("I /tmp", "hello vi", 0.5), ("", "\x1b", 1.0),
      ("", ":wq\r", 1.0), "cat /tmp/v.txt\r",
      # A nested shell on a pseudo-terminal, its session recorded by script.
      "script -q /tmp/s.txt\r", "tty\r", "echo in the pty\r", "exit\r",
      "grep -c 'in the pty' /tmp/s.txt\r",
      "exit 7\r"]),
]


def dynamic_twins(cases):
    """The C tests again, dynamically linked (build/tests-dyn: PIE, musl's
    loader /lib/ld-musl-x86_64.so.1): every differential case that runs one
    program built from tests/c gets a twin running the dynamic build."""
    twins = []
    for case in cases:
        name, init, statuses, expect, diff = case[:5]
        if len(case) > 5 or not init:
            continue
        prog = init.split()[0]
        base = os.path.basename(prog)
        if not diff or not prog.startswith("/tests/") or not os.path.exists(os.path.join(TOP, "tests", "c", base + ".c")):
            continue
        dyn = "/tests-dyn/" + base
        twins.append(("dynamic-" + name, dyn + init[len(prog):], statuses,
                      [[r.replace(prog, dyn) for r in cmd] for cmd in expect], diff))
    return twins


CASES += dynamic_twins(CASES)

# What runs against the build with the network stack linked into the LibOS
# too (--net inproc), besides NET_CASES.
NET_SOCKET_CASES = ["inet-sockets", "epoll-and-eventfd", "busybox-httpd-wget-nc-loopback", "busybox-ifconfig-route-eth0"]

# Environment for scripts/qemu.sh, by case (test hooks).
CASE_ENV = {"fs-task-panic": {"SELKIE_FAULT": "fs-panic"}, "fs-task-fault": {"SELKIE_FAULT": "fs-fault"}}

# Cases that need longer than the default 120 s.
# Cases whose every command must end with the root task holding what it held
# after the first one (the `held N objects M slots` of the exit lines).
LEAK_CHECKED = {"no-leaks-after-workloads"}
HELD_RE = re.compile(r"^selkie: exit \d+ \(.*\) \[.*held (\d+) objects (\d+) slots\]$")

# What runs against the in-process file system too: every case that works
# the file system hard.
FS_CASES = ["files-directories-pipes", "byte-file-names", "unix-sockets", "mount-tmpfs", "busybox-mount-df", "record-locks-and-flock", "extended-attributes", "splice-and-tee",
            "fifos", "chroot", "proc-fd-links-and-dev-fd", "private-file-mappings", "ofd-locks-and-copy-file-range",
            "statx", "shared-file-mappings-and-process-shared-futexes", "busybox-shell-files-and-pipelines",
            "glibc-dynamic-ls-l-root", "applet-sweep-musl-busybox", "hostile-elf-files", "no-leaks-after-workloads"]

TIMEOUTS = {"no-leaks-after-workloads": 600, "memory-hog-and-recursion": 300, "syscall-fuzzer": 900, "applet-sweep-musl-busybox": 300, "applet-sweep-glibc-busybox": 300}

INIT_RE = re.compile(r"^selkie: init: (.*)$")
EXIT_RE = re.compile(r"^selkie: exit (\d+) \((.*)\)")
# A command that powers the machine off ends with the halt line.
HALT_RE = re.compile(r"^selkie: halt (\d+)$")


def split_commands(console):
    """[(status, [lines])] for each command the root task ran."""
    out, cur = [], None
    for line in console.replace("\r", "").split("\n"):
        if INIT_RE.match(line):
            cur = []
            continue
        m = EXIT_RE.match(line) or HALT_RE.match(line)
        if m and cur is not None:
            out.append((int(m.group(1)), cur))
            cur = None
            continue
        if cur is not None:
            cur.append(line)
    return out


def program_lines(lines):
    """The program's own output: without the LibOS's log lines."""
    return [l for l in lines if not l.startswith("selkie: ")]


# The environment Selkie gives its first process (apps/roottask/src/run.rs).
GUEST_ENV = ["HOME=/root", "PATH=/bin:/sbin:/usr/bin:/usr/sbin", "TERM=vt100", "SHELL=/bin/sh"]


def default_signals():
    """Native runs start with default signal dispositions, as in the guest (a
    background job of a non-interactive shell inherits SIGINT/SIGQUIT ignored)."""
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def run_native(init, mode=True):
    """Runs the command on the host Linux in the guest's file tree (build/rootfs,
    through chroot, with busybox's env) and environment; without root, or with
    mode "host" (a test that needs the host's /dev/pts), the binary runs from
    build/ directly. With mode "tty", it runs in a new session whose
    controlling terminal is a pseudo-terminal (util-linux script), as the
    guest's init command has the console."""
    cmd = shlex.split(init)
    if os.geteuid() == 0 and mode != "host":
        root = os.path.join(TOP, "build", "rootfs")
        argv = ["chroot", root, "/bin/busybox", "env", "-i"] + GUEST_ENV + cmd
    else:
        argv = [os.path.join(TOP, "build", cmd[0].lstrip("/"))] + cmd[1:]
    if mode == "tty":
        argv = ["script", "-qec", shlex.join(argv), "/dev/null"]
    p = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=60, stdin=subprocess.DEVNULL,
                       preexec_fn=default_signals)
    # A signal death is -N in Python, 128+N in a shell and in Selkie's report.
    status = 128 - p.returncode if p.returncode < 0 else p.returncode
    return status, [l for l in p.stdout.replace("\r", "").split("\n")]


def output_diff(native, mine):
    """A line-by-line diff of the two outputs (short outputs in full)."""
    if native == mine:
        return "(the same)"
    if len(native) + len(mine) <= 20:
        return "\n".join(["native:"] + ["  " + l for l in native] + ["Selkie:"] + ["  " + l for l in mine])
    return "\n".join(difflib.unified_diff(native, mine, "native", "Selkie", lineterm=""))


class Result:
    def __init__(self, returncode, stdout):
        self.returncode, self.stdout, self.stderr = returncode, stdout, ""


def type_at_prompts(cmd, env, steps, prompt="# "):
    """Runs QEMU and types each step: a string after the shell's next prompt,
    or (needle, text[, delay]) once `needle` has appeared since the last typing
    (and `delay` seconds more)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = bytearray()
    os.set_blocking(proc.stdout.fileno(), False)
    pending = list(steps)
    pos = 0
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            out += chunk
        if pending:
            step = pending[0]
            needle, text = (prompt, step) if isinstance(step, str) else step[:2]
            if needle.encode() in out[pos:]:
                # (needle, text, delay): wait before typing (a program must start first).
                if not isinstance(step, str) and len(step) > 2:
                    time.sleep(step[2])
                pos = len(out)
                proc.stdin.write(text.encode())
                proc.stdin.flush()
                pending.pop(0)
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    rest = proc.stdout.read() or b""
    return Result(proc.wait(), (out + rest).decode(errors="replace"))


def check(case):
    name, init, statuses, expects, differential = case[:5]
    typed = case[5] if len(case) > 5 else None
    t0 = time.time()
    cmd = [os.path.join(TOP, "scripts/qemu.sh"), "--timeout", str(TIMEOUTS.get(name, 120))]
    if init:
        cmd += ["--init", init]
    env = dict(os.environ, INIT="", TRACE="1" if name.startswith("syscall-trace") else "0", **CASE_ENV.get(name, {}))
    if typed is None:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL, env=env)
    else:
        p = type_at_prompts(cmd, env, typed)
    console = p.stdout + p.stderr
    cmds = split_commands(console)
    problems = []
    if p.returncode in (124, 125):
        problems.append(f"no verdict: qemu.sh exited {p.returncode}")
    if len(cmds) != len(statuses):
        problems.append(f"expected {len(statuses)} command(s) to finish, saw {len(cmds)}")
    for i, (want_status, expect) in enumerate(zip(statuses, expects)):
        if i >= len(cmds):
            break
        status, lines = cmds[i]
        if status != want_status:
            problems.append(f"command {i + 1}: status {status}, expected {want_status}")
        for line in lines:
            if line.endswith(": FAILED"):
                problems.append(f"command {i + 1}: {line}")
        pos = 0
        for rx in expect:
            r = re.compile(rx)
            while pos < len(lines) and not r.search(lines[pos]):
                pos += 1
            if pos == len(lines):
                problems.append(f"command {i + 1}: no output line matching {rx!r} (in order)")
                break
            pos += 1
        if differential:
            nstatus, nlines = run_native(init, differential)
            mine = program_lines(lines)
            while nlines and nlines[-1] == "":
                nlines.pop()
            if nstatus != status or nlines != mine:
                problems.append(f"differs from native Linux: native status {nstatus}, Selkie status {status}; "
                                "output:\n" + output_diff(nlines, mine))
    if name in LEAK_CHECKED:
        held = [(int(m.group(1)), int(m.group(2))) for m in
                (HELD_RE.match(l) for l in console.replace("\r", "").split("\n")) if m]
        for i, h in enumerate(held[1:], 2):
            if h != held[0]:
                problems.append(f"command {i}: the root task holds {h[0]} objects, {h[1]} slots; "
                                f"after command 1: {held[0][0]} objects, {held[0][1]} slots (a leak)")
    if statuses and p.returncode == 0 and statuses[-1] != 0:
        problems.append("qemu.sh exited 0 but the last command failed")
    return name, problems, console, time.time() - t0


# The disk: what the first boot writes (and syncs) on /mnt, checked on the
# host with e2fsck and debugfs, then read back by a second boot.
DISK_WRITE = ("/bin/sh -c 'cd /mnt && echo persisted > note.txt && mkdir -p a/b/c && "
              "dd if=/dev/urandom of=a/b/c/big bs=1024 count=1500 2>/dev/null && md5sum a/b/c/big > big.md5 && "
              "ln -s a/b/c/big link && cp note.txt a/copy && mv a/copy a/b/moved && rm README && "
              "touch gone && rm gone && sync && ls -R /mnt | wc -l'")
DISK_READ = ("/bin/sh -c 'cd /mnt && cat note.txt a/b/moved && md5sum -c big.md5 && readlink link && "
             "ls README 2>&1; df -k /mnt | tail -1; mount | grep vda'")


def in_order(lines, patterns):
    """The patterns each match a line, in this order; returns the problems."""
    pos = 0
    for rx in patterns:
        r = re.compile(rx)
        while pos < len(lines) and not r.search(lines[pos]):
            pos += 1
        if pos == len(lines):
            return [f"no output line matching {rx!r} (in order)"]
        pos += 1
    return []


def check_disk():
    """Boot with a fresh disk image, write, power off; e2fsck and debugfs on
    the host; boot again and read it back."""
    t0 = time.time()
    problems, console = [], ""
    img = os.path.join(TOP, "build", "test-disk.img")
    if os.path.exists(img):
        os.remove(img)
    subprocess.run([os.path.join(TOP, "scripts", "mkdisk.sh"), img, "16M"], check=True, capture_output=True)
    env = dict(os.environ, INIT="", TRACE="0", SELKIE_DISK=img)

    def boot(init, expect):
        nonlocal console
        p = subprocess.run([os.path.join(TOP, "scripts/qemu.sh"), "--timeout", "120", "--init", init],
                           capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL, env=env)
        console += p.stdout
        lines = [l.rstrip("\r") for l in p.stdout.split("\n")]
        if p.returncode != 0:
            problems.append(f"boot with {init!r}: qemu.sh exited {p.returncode}")
        problems.extend(in_order(lines, expect))

    boot(DISK_WRITE, [r"^selkie: /dev/vda \(16 MiB, ext2\) mounted on /mnt$", r"^\s*30$", r"^selkie: halt 0$"])
    fsck = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
    if fsck.returncode != 0:
        problems.append(f"e2fsck -fn found the image unclean (exit {fsck.returncode}):\n{fsck.stdout}{fsck.stderr}")
    for path, want in [("/note.txt", "persisted\n"), ("/a/b/moved", "persisted\n")]:
        got = subprocess.run(["debugfs", "-R", f"cat {path}", img], capture_output=True, text=True).stdout
        if got != want:
            problems.append(f"the host reads {path} as {got!r}, not {want!r}")
    big = subprocess.run(["debugfs", "-R", "cat /a/b/c/big", img], capture_output=True).stdout
    md5 = subprocess.run(["debugfs", "-R", "cat /big.md5", img], capture_output=True, text=True).stdout.split()
    import hashlib
    if len(big) != 1500 * 1024 or not md5 or hashlib.md5(big).hexdigest() != md5[0]:
        problems.append(f"the host reads /a/b/c/big as {len(big)} bytes whose md5 is not the guest's")
    boot(DISK_READ, [r"^persisted$", r"^persisted$", r"^a/b/c/big: OK$", r"^a/b/c/big$",
                     r"README: No such file or directory", r"^/dev/vda\s+16\d\d\d\s+\d+\s+\d+\s+\d+% /mnt$",
                     r"^/dev/vda on /mnt type ext2 \(rw\)$", r"^selkie: halt 0$"])
    if fsck.returncode == 0 and subprocess.run(["e2fsck", "-fn", img], capture_output=True).returncode != 0:
        problems.append("e2fsck -fn found the image unclean after the second boot")
    return "disk-ext2-persistence", problems, console, time.time() - t0


def check_make_suite():
    """`make suite`'s script on a sample directory: the suite goes on a disk
    of its own and runs from /mnt/suite (a pass, a failure, a crash, a test
    that reads an 8 MiB data file the suite carries, one that writes beside
    itself)."""
    import hashlib
    import shutil
    import tempfile
    t0 = time.time()
    problems = []
    d = tempfile.mkdtemp(prefix="selkie-suite-")
    try:
        os.makedirs(os.path.join(d, "sub"))
        os.makedirs(os.path.join(d, "data"))
        shutil.copy(os.path.join(TOP, "build", "tests", "hello"), os.path.join(d, "passes"))
        shutil.copy(os.path.join(TOP, "build", "tests", "segv"), os.path.join(d, "sub", "crashes"))
        big = os.urandom(8 << 20)
        with open(os.path.join(d, "data", "big.bin"), "wb") as f:
            f.write(big)
        scripts = {
            "fails": "echo about to fail\nexit 3\n",
            "reads-data": f"sum=$(md5sum data/big.bin)\n[ \"${{sum%% *}}\" = {hashlib.md5(big).hexdigest()} ]\n",
            "writes": "echo written > out.txt && [ \"$(cat out.txt)\" = written ]\n",
        }
        for name, body in scripts.items():
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n" + body)
            os.chmod(path, 0o755)
        env = dict(os.environ, TRACE="0", SELKIE_SUITE_IMAGE=os.path.join(TOP, "build", "test-suite.img"))
        p = subprocess.run([os.path.join(TOP, "scripts", "suite.sh"), d, "", "30"], capture_output=True,
                           text=True, errors="replace", stdin=subprocess.DEVNULL, env=env)
        console = p.stdout + p.stderr
    finally:
        shutil.rmtree(d)
    if p.returncode != 1:
        problems.append(f"scripts/suite.sh exited {p.returncode}, not 1 (a test failed)")
    lines = [l.rstrip("\r") for l in p.stdout.split("\n")]
    problems += in_order(lines, [
        r"^selkie: 5 tests from .* on the suite disk \(.*test-suite.img, \d+M\)$",
        r"^selkie: /dev/vda \(\d+ MiB, ext2\) mounted on /mnt$",
        r"^FAIL fails \(exit 3\)$", r"^    about to fail$", r"^PASS passes$", r"^PASS reads-data$",
        r"^FAIL sub/crashes \(killed by signal 11\)$", r"^PASS writes$", r"^3 passed, 2 failed$"])
    return "make-suite-through-disk", problems, console, time.time() - t0


# Several LibOS instances (docs/instances.md): each configuration is built
# into its own root task and booted; instance lines carry "[name] ", and
# each instance's lines are checked in order apart from the other's.
INSTANCES = [
    ("instances-two-exchange-over-a-channel", "tests/configs/two-instances.toml", 0, {
        "": [r"^selkie: 2 instances, 1 channels$",
             r"^selkie: instance alpha: 96 MiB \(64\+32 MiB untyped\), init: /bin/sh /tests/instances/alpha.sh$",
             r"^selkie: instance beta: 64 MiB \(64 MiB untyped\), init: /bin/sh /tests/instances/beta.sh$",
             r"^selkie: instance (alpha|beta) exited with status 0$",
             r"^selkie: instance (alpha|beta) stopped: its (96|64) MiB are free again$",
             r"^selkie: instance (alpha|beta) exited with status 0$",
             r"^selkie: instance (alpha|beta) stopped: its (96|64) MiB are free again$", r"^selkie: halt 0$"],
        "alpha": [r"^selkie: 96 MiB of untyped memory, \d+ free cap slots$",
                  r"^selkie: 3 of its own files laid over the tree$", r"^alpha: up, link in /dev/chan$",
                  r"^alpha: alpha's own file, laid over the tree; hostname file: alpha$",
                  r"^alpha got: pong from beta$", r"^alpha received 1 MiB, md5 (?P<md5>[0-9a-f]{32})$",
                  r"^alpha does not see beta's file$", r"^alpha: done$", r"^selkie: exit 0 "],
        "beta": [r"^selkie: 64 MiB of untyped memory", r"^beta: no /etc/instance; hostname file: selkie$",
                 r"^beta got: ping from alpha$",
                 r"^beta sends 1 MiB, md5 (?P<md5>[0-9a-f]{32})$", r"^beta does not see alpha's file$",
                 r"^beta: done$", r"^selkie: exit 0 "],
    }),
    ("instances-share-the-net-task", "tests/configs/network.toml", 0, {
        "": [r"^selkie: network up: 10.0.2.15/24 \(the net service task, shared\)$",
             r"^selkie: instance (alpha|beta) exited with status 0$",
             r"^selkie: instance (alpha|beta) exited with status 0$", r"^selkie: halt 0$"],
        "alpha": [r"^selkie: network up: 10.0.2.15/24 \(the shared net service task\)$",
                  r"^alpha got over TCP: hello from beta$", r"^inet addr:10.0.2.15$"],
        "beta": [r"^selkie: network up: 10.0.2.15/24 \(the shared net service task\)$", r"^beta: sent$",
                 r"^inet addr:10.0.2.15$"],
    }),
    ("instances-one-has-the-disk", "tests/configs/disk.toml", 0, {
        "": [r"^selkie: /dev/vda \(16 MiB\) for instance keeper$", r"^selkie: halt 0$"],
        "keeper": [r"^selkie: /dev/vda \(16 MiB, ext2\) mounted on /mnt$", r"^kept by keeper$",
                   r"^/dev/vda /mnt ext2 rw"],
        "other": [r"^other: 0 mounts on /mnt, kept.txt unseen$"],
    }),
    ("instances-share-a-file-system", "tests/configs/share.toml", 0, {
        "": [r"^selkie: share common \(4 MiB\) for alpha, beta$", r"^selkie: halt 0$"],
        "alpha": [r"^selkie: share common mounted on /share/common$", r"^alpha reads: answered by beta$",
                  r"^common /share/common tmpfs rw"],
        "beta": [r"^selkie: share common mounted on /share/common$", r"^beta reads: written by alpha$"],
        "gamma": [r"^gamma: no /share/common$"],
    }),
    ("instances-quota-too-big", "tests/configs/too-big.toml", 125, {
        "": [r"^selkie: the instances' memory does not fit: no untyped region has room for \d+ MiB more "
             r"of instance big's 1024 MiB$", r"^selkie: no halt line"],
    }),
    ("instances-panic-restart-and-memory-exhaustion", "tests/configs/contain.toml", 1, {
        "": [r"^selkie: instance alpha: 128 MiB", r"^selkie: instance beta: 48 MiB \(32\+16 MiB untyped\)"]
            + [rx for k in (1, 2, 3) for rx in (r"^selkie: instance beta panicked: panicked at ",
                                                 r"^selkie: instance beta stopped: its 48 MiB are free again$",
                                                 rf"^selkie: instance beta restarts \({k} of 3\)$")]
            + [r"^selkie: instance beta panicked: ", r"^selkie: instance beta stopped: its 48 MiB are free again$",
               r"^selkie: instance beta is down; the others go on$",
               r"^selkie: instance alpha exited with status 0$",
               r"^selkie: instance alpha stopped: its 128 MiB are free again$", r"^selkie: halt 1$"],
        "alpha": [r"^selkie: 128 MiB of untyped memory"] + [r"^alpha heard: beta is up$"] * 4
            + [r"^selkie: pid \d+ \(hog\) killed by SIGKILL \(out of memory\)",
               r"^memory hog: killed by Killed after >= 64 MiB, killed while touching$",
               r"^a small process allocates 8 MiB next to the hog: yes$",
               r"^unbounded recursion: killed by Segmentation fault$", r"^a new process afterwards: exited 0$",
               r"^alpha: the channel ended$", r"^alpha: done$", r"^selkie: exit 0 "],
        "beta": [r"^selkie: init: /bin/sh /tests/instances/crash.sh$"] * 4,
    }),
]


def check_instances(name, config, status, expect):
    """Builds the root task for `config`, boots it and checks its lines."""
    t0 = time.time()
    problems = []
    env = dict(os.environ, TRACE="0", SELKIE_CONFIG=os.path.join(TOP, config))
    b = subprocess.run([os.path.join(TOP, "scripts", "build-roottask.sh")], capture_output=True, text=True,
                       errors="replace", env=env)
    # The card only for a configuration whose instances use the network,
    # a fresh disk for one that uses the disk.
    with open(os.path.join(TOP, config)) as f:
        text = f.read()
    if "network = true" not in text:
        env["SELKIE_NET"] = "none"
    img = None
    if "disk = true" in text:
        img = os.path.join(TOP, "build", "test-instance-disk.img")
        if os.path.exists(img):
            os.remove(img)
        subprocess.run([os.path.join(TOP, "scripts", "mkdisk.sh"), img, "16M"], check=True, capture_output=True)
        env["SELKIE_DISK"] = img
    if b.returncode != 0:
        return name, [f"the build failed (exit {b.returncode})"], b.stdout + b.stderr, time.time() - t0
    p = subprocess.run([os.path.join(TOP, "scripts", "qemu.sh"), "--timeout", "300"], capture_output=True,
                       text=True, errors="replace", stdin=subprocess.DEVNULL, env=env)
    console = p.stdout
    if p.returncode != status:
        problems.append(f"qemu.sh exited {p.returncode}, not {status}")
    lines = [l.rstrip("\r") for l in p.stdout.split("\n")]
    lines = lines[next((i for i, l in enumerate(lines) if l.startswith("selkie: root task up")), 0):]
    sums = []
    for who, patterns in expect.items():
        if who:
            mine = [l[len(who) + 3:] for l in lines if l.startswith(f"[{who}] ")]
        else:
            mine = [l for l in lines if not l.startswith("[")]
        problems += [f"{who or 'root task'}: {pr}" for pr in in_order(mine, patterns)]
        sums += [m.group("md5") for l in mine for rx in patterns if "?P<md5>" in rx
                 for m in [re.search(rx, l)] if m]
    if len(set(sums)) > 1:
        problems.append(f"the data sent and received differ: md5 {sums}")
    if img:
        fsck = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
        if fsck.returncode != 0:
            problems.append(f"e2fsck -fn found the disk unclean:\n{fsck.stdout}{fsck.stderr}")
        got = subprocess.run(["debugfs", "-R", "cat /kept.txt", img], capture_output=True, text=True).stdout
        if got != "kept by keeper\n":
            problems.append(f"the host reads /kept.txt as {got!r}")
    # Every console line belongs to an instance or the root task.
    stray = [l for l in lines if l and not l.startswith("[") and not l.startswith("selkie: ")]
    if stray:
        problems.append(f"lines of no instance: {stray[:3]}")
    return name, problems, console, time.time() - t0


# The network: each case boots Selkie with QEMU's user networking, a host
# port forwarded to the guest when the case needs one, and a peer on the
# host (a Python thread) that talks to the guest: the guest's output and the
# peer's findings are both checked. The host side uses 127.0.0.1 only; the
# guest reaches the host as 10.0.2.2.

def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(n, seed):
    """n deterministic pseudo-random bytes."""
    out, block = bytearray(), hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def connect_to_guest(port, deadline=60):
    """A connection to the guest's server through the port forward, once the
    server listens: QEMU accepts a forwarded connection at once, and closes
    it again when nothing listens in the guest."""
    end = time.time() + deadline
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.2)
            continue
        c.settimeout(0.5)
        try:
            closed = c.recv(1, socket.MSG_PEEK) == b""
        except socket.timeout:
            closed = False
        except OSError:
            closed = True
        if not closed:
            c.settimeout(60)
            return c
        c.close()
        if time.time() > end:
            raise TimeoutError("the guest never listened")
        time.sleep(0.2)


def peer_tcp_echo(ctx):
    """Sends 1 MiB to the guest's echo server and checks it comes back; closes
    only then (the guest's server ends, and the machine with it, when this
    side closes)."""
    data = payload(1 << 20, "echo")
    with connect_to_guest(ctx["fwd"]) as c:
        got = bytearray()
        def reader():
            while len(got) < len(data):
                b = c.recv(65536)
                if not b:
                    return
                got.extend(b)
        t = threading.Thread(target=reader)
        t.start()
        c.sendall(data)
        t.join(60)
    if bytes(got) != data:
        return [f"the echo came back as {len(got)} bytes, not the 1048576 sent (or not the same bytes)"]
    return []


def peer_tcp_server(ctx):
    """Serves 1 MiB to the first client, then closes."""
    srv = ctx["listener"]
    srv.settimeout(60)
    c, _ = srv.accept()
    with c:
        c.sendall(payload(1 << 20, "download"))
    return []


def peer_tcp_receiver(ctx):
    """Takes what the guest sends: its /bin/busybox."""
    srv = ctx["listener"]
    srv.settimeout(60)
    c, _ = srv.accept()
    got = bytearray()
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                break
            got.extend(b)
    with open(os.path.join(TOP, "build", "rootfs", "bin", "busybox"), "rb") as f:
        want = f.read()
    return [] if bytes(got) == want else [f"the host received {len(got)} bytes, not the guest's /bin/busybox ({len(want)})"]


def peer_http(ctx):
    """An HTTP server with one file, /blob (1 MiB), for wget."""
    import http.server
    body = payload(1 << 20, "http")

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/blob":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    httpd = http.server.HTTPServer(("127.0.0.1", 0), H, bind_and_activate=False)
    httpd.socket = ctx["listener"]
    httpd.timeout = 60
    httpd.handle_request()
    return []


def peer_udp_echo(ctx):
    """Three datagrams to the guest's UDP echo server, each answered."""
    problems = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(10)
        for i, size in enumerate([1, 512, 1400]):
            msg = payload(size, f"udp{i}")
            u.sendto(msg, ("127.0.0.1", ctx["fwd"]))
            try:
                back, _ = u.recvfrom(65536)
            except socket.timeout:
                problems.append(f"datagram {i + 1}: no answer")
                continue
            if back != msg:
                problems.append(f"datagram {i + 1}: answered {len(back)} bytes, not the {size} sent")
    return problems


def peer_nc_send(ctx):
    """Sends 256 KiB to the guest's `nc -l` and closes."""
    with connect_to_guest(ctx["fwd"]) as c:
        c.sendall(payload(256 << 10, "nc"))
    return []


def sha(n, seed):
    return hashlib.sha256(payload(n, seed)).hexdigest()


# busybox's nc (nc 1.10's behaviour) goes on reading its standard input
# after the network side ends: the commands give it /dev/null.
# name, guest command ({port}: the host's listening port), forward (tcp or
# udp to guest port 5555, or None), the marker in the guest's output after
# which the peer starts (None: at once), the peer, the guest's expected
# output (regexes in order).
NET_CASES = [
    ("net-tcp-echo-server-1mib", "/tests/netecho tcp 5555 1", "tcp", "listening", peer_tcp_echo,
     [r"^listening$", r"^connection 1: echoed 1048576 bytes$"]),
    ("net-tcp-client-download-1mib", "/bin/sh -c 'nc 10.0.2.2 {port} < /dev/null | sha256sum'", None, None, peer_tcp_server,
     [rf"^{sha(1 << 20, 'download')}  -$"]),
    ("net-tcp-client-upload-busybox", "/bin/sh -c 'nc 10.0.2.2 {port} < /bin/busybox && echo sent'", None, None,
     peer_tcp_receiver, [r"^sent$"]),
    ("net-busybox-wget", "/bin/sh -c 'wget -q -O /tmp/blob http://10.0.2.2:{port}/blob && sha256sum /tmp/blob'",
     None, None, peer_http, [rf"^{sha(1 << 20, 'http')}  /tmp/blob$"]),
    ("net-busybox-nc-listen", "/bin/sh -c 'nc -l -p 5555 < /dev/null > /tmp/in; sha256sum < /tmp/in'", "tcp", None,
     peer_nc_send, [rf"^{sha(256 << 10, 'nc')}  -$"]),
    ("net-udp-echo-server", "/tests/netecho udp 5555 3", "udp", "listening", peer_udp_echo,
     [r"^listening$", r"^datagram 1: 1 bytes$", r"^datagram 2: 512 bytes$", r"^datagram 3: 1400 bytes$"]),
]


def check_net(case):
    name, init, fwd, marker, peer, expect = case
    t0 = time.time()
    ctx, problems = {}, []
    env = dict(os.environ, INIT="", TRACE="0")
    if fwd:
        ctx["fwd"] = free_port(socket.SOCK_DGRAM if fwd == "udp" else socket.SOCK_STREAM)
        env["SELKIE_HOSTFWD"] = f"{fwd}:{ctx['fwd']}-:5555"
    if "{port}" in init:
        ctx["listener"] = socket.socket()
        ctx["listener"].bind(("127.0.0.1", 0))
        ctx["listener"].listen(4)
        init = init.replace("{port}", str(ctx["listener"].getsockname()[1]))
    cmd = [os.path.join(TOP, "scripts/qemu.sh"), "--timeout", "120", "--init", init]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    out = bytearray()
    result = {}

    def run_peer():
        try:
            result["problems"] = peer(ctx)
        except Exception as e:  # a peer that cannot talk to the guest
            result["problems"] = [f"the host peer failed: {e!r}"]
    peer_thread = threading.Thread(target=run_peer, daemon=True)
    if marker is None:
        peer_thread.start()
    os.set_blocking(proc.stdout.fileno(), False)
    while proc.poll() is None:
        chunk = proc.stdout.read()
        if chunk:
            out += chunk
        if marker and not peer_thread.is_alive() and "problems" not in result and marker.encode() in out:
            peer_thread.start()
        time.sleep(0.05)
    out += proc.stdout.read() or b""
    if peer_thread.ident is not None:
        peer_thread.join(30)
    if "listener" in ctx:
        ctx["listener"].close()
    console = out.decode(errors="replace")
    problems += result.get("problems", ["the host peer never ran or did not finish"])
    cmds = split_commands(console)
    if proc.returncode != 0:
        problems.append(f"qemu.sh exited {proc.returncode}")
    lines = cmds[-1][1] if cmds else []
    pos = 0
    for rx in expect:
        r = re.compile(rx)
        while pos < len(lines) and not r.search(lines[pos]):
            pos += 1
        if pos == len(lines):
            problems.append(f"no output line matching {rx!r} (in order)")
            break
        pos += 1
    return name, problems, console, time.time() - t0


def prepare_native_tree():
    """The chroot for native runs needs the devices the guest's /dev has."""
    if os.geteuid() != 0:
        return
    dev = os.path.join(TOP, "build", "rootfs", "dev")
    os.makedirs(dev, exist_ok=True)
    for name, major, minor in [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("urandom", 1, 9)]:
        path = os.path.join(dev, name)
        if not os.path.exists(path):
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))


def main():
    prepare_native_tree()
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="run only cases whose name contains this")
    ap.add_argument("-v", action="store_true", help="print every console transcript")
    ap.add_argument("--fs", choices=["task", "inproc"], default="task",
                    help="the build to boot: fs service task (default) or fs linked into the LibOS")
    ap.add_argument("--net", choices=["task", "inproc"], default="task",
                    help="the build to boot: net service task (default) or the stack linked into the LibOS")
    args = ap.parse_args()
    os.environ["SELKIE_FS"] = args.fs
    os.environ["SELKIE_NET"] = args.net
    cases = [c for c in CASES if args.k in c[0] and (args.fs == "task" or c[0] in FS_CASES)
             and (args.net == "task" or c[0] in NET_SOCKET_CASES)]
    passed = failed = 0
    # Two cases run at a time; a test and its dynamic twin never do (their
    # native runs would share files in /tmp), so the twins come second.
    twins = [c for c in cases if c[0].startswith("dynamic-")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        for group in ([c for c in cases if c not in twins], twins):
            for name, problems, console, secs in ex.map(check, group):
                if problems:
                    failed += 1
                    print(f"FAIL {name} ({secs:.1f}s)")
                    for pr in problems:
                        print("\n".join("    " + l for l in pr.split("\n")))
                    print("    --- console ---")
                    print("\n".join("    " + l for l in console.replace("\r", "").split("\n")[-60:]))
                else:
                    passed += 1
                    print(f"PASS {name} ({secs:.1f}s)")
                    if args.v:
                        print(console)
                sys.stdout.flush()
    # Cases of their own, one at a time: the network cases (each has a host
    # peer); the disk case boots twice with an image of its own; `make
    # suite`'s script and the multi-instance configurations build root
    # tasks of their own.
    extra = [(c[0], lambda c=c: check_net(c)) for c in (NET_CASES if args.fs == "task" else [])]
    extra += [("disk-ext2-persistence", check_disk)]
    if args.fs == "task" and args.net == "task":
        extra += [("make-suite-through-disk", check_make_suite)]
        extra += [(c[0], lambda c=c: check_instances(*c)) for c in INSTANCES]
    for case, extra_check in extra:
        if args.k not in case:
            continue
        name, problems, console, secs = extra_check()
        if problems:
            failed += 1
            print(f"FAIL {name} ({secs:.1f}s)")
            for pr in problems:
                print("\n".join("    " + l for l in pr.split("\n")))
            print("\n".join("    " + l for l in console.replace("\r", "").split("\n")[-60:]))
        else:
            passed += 1
            print(f"PASS {name} ({secs:.1f}s)")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
