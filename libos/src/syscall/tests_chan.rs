//! Inter-instance channels (/dev/chan/NAME) between two kernels, each with
//! one end of an in-memory channel pair, and /proc/sysrq-trigger.
use super::tests::{call, peek, poke, raw, setup};
use crate::kernel::{Action, Kernel, Outcome};
use crate::mm::{Area, AreaKind};
use crate::platform::ChannelEnd;
use crate::process::ExitStatus;
use crate::testing::{channel_pair, TestChannel, TestPlatform};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

/// One LibOS instance: a kernel whose pid 1 has a scratch area at 0x10000
/// (0x10000: data written, 0x10800: data read, 0x11000: structures,
/// 0x11800: paths) and its end of the channel "link".
struct Instance {
    k: Kernel,
    plat: TestPlatform,
    end: TestChannel,
}

/// Two instances joined by the channel "link" of `capacity` bytes each way.
fn instances(capacity: usize) -> (Instance, Instance) {
    let (a, b) = channel_pair(capacity);
    let mk = |end: TestChannel| {
        let (mut k, plat) = setup();
        k.add_channel("link", Box::new(end.clone())).unwrap();
        Instance { k, plat, end }
    };
    (mk(a), mk(b))
}

impl Instance {
    fn call(&mut self, nr: u32, args: [u64; 6]) -> Result<u64, Errno> {
        call(&mut self.k, &mut self.plat, nr, args)
    }
    fn open(&mut self, path: &str, flags: u32) -> Result<u64, Errno> {
        let mut p = path.as_bytes().to_vec();
        p.push(0);
        poke(&mut self.k, 0x11800, &p);
        self.call(
            g::__NR_openat,
            [g::AT_FDCWD as u64, 0x11800, flags as u64, 0, 0, 0],
        )
    }
    fn write(&mut self, fd: u64, data: &[u8]) -> Result<u64, Errno> {
        poke(&mut self.k, 0x10000, data);
        self.call(g::__NR_write, [fd, 0x10000, data.len() as u64, 0, 0, 0])
    }
    fn read(&mut self, fd: u64, max: u64) -> Result<Vec<u8>, Errno> {
        let n = self.call(g::__NR_read, [fd, 0x10800, max, 0, 0, 0])?;
        Ok(self.peek(0x10800, n as usize))
    }
    fn peek(&mut self, addr: u64, n: usize) -> Vec<u8> {
        let mut b = alloc::vec![0u8; n];
        peek(&mut self.k, addr, &mut b);
        b
    }
    /// Starts a call of pid 1 that is expected to wait.
    fn block(&mut self, nr: u32, args: [u64; 6]) {
        let (o, _) = raw(&mut self.k, &mut self.plat, 1, nr, args);
        assert_eq!(o, Outcome::Block);
        assert!(self.k.take_actions().is_empty());
    }
    fn event(&mut self) {
        self.k.channel_event(&mut self.plat);
    }
    /// The result a blocked pid 1 was answered with, if it was.
    fn reply(&mut self) -> Option<u64> {
        let acts = self.k.take_actions();
        match acts.as_slice() {
            [] => None,
            [Action::Reply { tid: 1, regs }] => Some(regs.rax),
            _ => panic!("{acts:?}"),
        }
    }
    /// revents of a poll of `fd` for POLLIN|POLLOUT, without waiting.
    fn poll(&mut self, fd: u64) -> u32 {
        let mut pfd = [0u8; 8];
        pfd[..4].copy_from_slice(&(fd as i32).to_le_bytes());
        pfd[4..6].copy_from_slice(&((g::POLLIN | g::POLLOUT) as u16).to_le_bytes());
        poke(&mut self.k, 0x11000, &pfd);
        self.call(g::__NR_poll, [0x11000, 1, 0, 0, 0, 0]).unwrap();
        let r = self.peek(0x11006, 2);
        u16::from_le_bytes([r[0], r[1]]) as u32
    }
}

const RDWR_NB: u32 = g::O_RDWR | g::O_NONBLOCK;

#[test]
fn bytes_cross_between_instances_both_ways() {
    let (mut a, mut b) = instances(64);
    let fa = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    let fb = b.open("/dev/chan/link", g::O_RDWR).unwrap();
    assert_eq!(a.write(fa, b"hello"), Ok(5));
    assert_eq!(b.read(fb, 64).unwrap(), b"hello");
    assert_eq!(b.write(fb, b"world!"), Ok(6));
    // Two opens share the one end: a second descriptor reads what the
    // first did not.
    let fa2 = a.open("/dev/chan/link", g::O_RDONLY).unwrap();
    assert_ne!(fa, fa2);
    assert_eq!(a.read(fa, 2).unwrap(), b"wo");
    assert_eq!(a.read(fa2, 64).unwrap(), b"rld!");
    // FIONREAD counts what waits.
    assert_eq!(b.write(fb, b"xyz"), Ok(3));
    a.call(
        g::__NR_ioctl,
        [fa, linux_raw_sys::ioctl::FIONREAD as u64, 0x11000, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(a.peek(0x11000, 4), 3u32.to_le_bytes());
}

#[test]
fn dev_chan_lists_the_channels() {
    // Without channels there is no /dev/chan.
    let (mut k, mut plat) = setup();
    poke(&mut k, 0x11800, b"/dev/chan\0");
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_openat,
            [g::AT_FDCWD as u64, 0x11800, g::O_RDONLY as u64, 0, 0, 0]
        ),
        Err(Errno::ENOENT)
    );
    let (x, _) = channel_pair(8);
    let (y, _) = channel_pair(8);
    k.add_channel("alpha", Box::new(x.clone())).unwrap();
    k.add_channel("beta", Box::new(y)).unwrap();
    // A name taken, and names that are no file names.
    assert_eq!(
        k.add_channel("alpha", Box::new(x.clone())),
        Err(Errno::EEXIST)
    );
    for bad in ["", ".", "..", "a/b"] {
        assert_eq!(k.add_channel(bad, Box::new(x.clone())), Err(Errno::EINVAL));
    }
    let fd = call(
        &mut k,
        &mut plat,
        g::__NR_openat,
        [
            g::AT_FDCWD as u64,
            0x11800,
            (g::O_RDONLY | g::O_DIRECTORY) as u64,
            0,
            0,
            0,
        ],
    )
    .unwrap();
    let n = call(
        &mut k,
        &mut plat,
        g::__NR_getdents64,
        [fd, 0x11000, 0x800, 0, 0, 0],
    )
    .unwrap() as usize;
    let mut buf = alloc::vec![0u8; n];
    peek(&mut k, 0x11000, &mut buf);
    let mut names = Vec::new();
    let mut off = 0;
    while off < n {
        let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        let name = &buf[off + 19..off + reclen];
        let end = name.iter().position(|&c| c == 0).unwrap();
        let name = String::from_utf8(name[..end].to_vec()).unwrap();
        if name != "." && name != ".." {
            assert_eq!(buf[off + 18], g::DT_CHR as u8, "{name}");
            names.push(name);
        }
        off += reclen;
    }
    names.sort();
    assert_eq!(names, ["alpha", "beta"]);
}

#[test]
fn unknown_channel_is_enoent_and_the_device_is_a_char_device() {
    let (mut a, _b) = instances(16);
    assert_eq!(a.open("/dev/chan/unknown", g::O_RDWR), Err(Errno::ENOENT));
    let fd = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    assert_eq!(
        a.call(g::__NR_lseek, [fd, 0, 0, 0, 0, 0]),
        Err(Errno::ESPIPE)
    );
    a.call(g::__NR_fstat, [fd, 0x11000, 0, 0, 0, 0]).unwrap();
    let st = a.peek(0x11000, 144);
    let mode = u32::from_le_bytes(st[24..28].try_into().unwrap());
    let rdev = u64::from_le_bytes(st[40..48].try_into().unwrap());
    assert_eq!(mode & g::S_IFMT, g::S_IFCHR);
    assert_eq!(mode & 0o777, 0o666);
    assert_eq!(rdev, crate::chan::CHAN_MAJOR << 8);
    // stat of the path agrees with fstat.
    poke(&mut a.k, 0x11800, b"/dev/chan/link\0");
    a.call(
        g::__NR_newfstatat,
        [g::AT_FDCWD as u64, 0x11800, 0x11100, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(a.peek(0x11100, 144), st);
    // /proc/self/fd/N names it, and opens it again.
    let link = alloc::format!("/proc/self/fd/{fd}");
    let again = a.open(&link, g::O_RDWR).unwrap();
    assert_eq!(a.write(again, b"via proc"), Ok(8));
    assert_eq!(a.end.room(), 8);
}

#[test]
fn blocking_read_waits_for_the_peers_event() {
    let (mut a, mut b) = instances(64);
    let fa = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    let fb = b.open("/dev/chan/link", g::O_RDWR).unwrap();
    b.block(g::__NR_read, [fb, 0x10800, 64, 0, 0, 0]);
    assert_eq!(a.write(fa, b"ping"), Ok(4));
    // The data is there, but b hears of it only through its event.
    assert_eq!(b.reply(), None);
    b.event();
    assert_eq!(b.reply(), Some(4));
    assert_eq!(b.peek(0x10800, 4), b"ping");
    // An event with nothing for it leaves a reader waiting.
    b.block(g::__NR_read, [fb, 0x10800, 64, 0, 0, 0]);
    b.event();
    assert_eq!(b.reply(), None);
}

#[test]
fn nonblocking_read_and_write_give_eagain() {
    let (mut a, mut b) = instances(8);
    let fa = a.open("/dev/chan/link", RDWR_NB).unwrap();
    let fb = b.open("/dev/chan/link", RDWR_NB).unwrap();
    assert_eq!(b.read(fb, 16), Err(Errno::EAGAIN));
    // As much as fits, then EAGAIN.
    assert_eq!(a.write(fa, b"0123456789"), Ok(8));
    assert_eq!(a.write(fa, b"x"), Err(Errno::EAGAIN));
    assert_eq!(b.read(fb, 16).unwrap(), b"01234567");
    assert_eq!(b.read(fb, 16), Err(Errno::EAGAIN));
}

#[test]
fn full_channel_blocks_the_writer_until_room() {
    let (mut a, mut b) = instances(8);
    let fa = a.open("/dev/chan/link", g::O_WRONLY).unwrap();
    let fb = b.open("/dev/chan/link", g::O_RDONLY).unwrap();
    poke(&mut a.k, 0x10000, b"abcdefghijklmnopqrst");
    a.block(g::__NR_write, [fa, 0x10000, 20, 0, 0, 0]);
    assert_eq!(a.end.room(), 0);
    assert_eq!(b.read(fb, 64).unwrap(), b"abcdefgh");
    a.event();
    // 8 more went in; the writer still waits for the last 4.
    assert_eq!(a.reply(), None);
    assert_eq!(b.read(fb, 64).unwrap(), b"ijklmnop");
    a.event();
    assert_eq!(a.reply(), Some(20));
    assert_eq!(b.read(fb, 64).unwrap(), b"qrst");
}

/// pid 1 gets a stack for signal frames (0x20000..0x30000) and a handler
/// for SIGUSR1 with `flags`.
fn with_handler(i: &mut Instance, flags: u64) {
    i.k.process(1)
        .unwrap()
        .vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: Perms {
                read: true,
                write: true,
                exec: false,
            },
            kind: AreaKind::Anon,
        })
        .unwrap();
    with_handler_flags(i, flags);
}

/// Starts `nr` on pid 1 with the signal stack; it must wait.
fn block_with_stack(i: &mut Instance, nr: u32, args: [u64; 3]) {
    let mut r = SyscallRegs {
        rax: nr as u64,
        rdi: args[0],
        rsi: args[1],
        rdx: args[2],
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(i.k.syscall(&mut i.plat, 1, &mut r), Outcome::Block);
}

/// Sends SIGUSR1 to pid 1 and returns the registers its handler's frame
/// saved (what the interrupted call left).
fn signal_saved(i: &mut Instance) -> SyscallRegs {
    i.k.send_signal(
        &mut i.plat,
        1,
        crate::signal::SigInfo {
            signo: 10,
            ..Default::default()
        },
    );
    let acts = i.k.take_actions();
    let [Action::Reply { tid: 1, regs }] = acts.as_slice() else {
        panic!("{acts:?}")
    };
    assert_eq!(regs.fault_ip, 0x401234);
    let mut uc = alloc::vec![0u8; crate::signal::UCONTEXT_SIZE as usize];
    peek(&mut i.k, regs.rdx, &mut uc);
    crate::signal::parse_ucontext(&uc, regs).0
}

#[test]
fn signals_interrupt_waiting_reads_and_writes() {
    let (mut a, _b) = instances(4);
    let fa = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    with_handler(&mut a, 0);
    // A waiting read: EINTR.
    block_with_stack(&mut a, g::__NR_read, [fa, 0x10800, 16]);
    let saved = signal_saved(&mut a);
    assert_eq!(saved.rax, Errno::EINTR.to_return());
    assert_eq!(saved.fault_ip, 0x1002);
    // A write that put 4 of its 10 bytes in: their count.
    a.k.process(1).unwrap().signals.mask = 0;
    poke(&mut a.k, 0x10000, b"0123456789");
    block_with_stack(&mut a, g::__NR_write, [fa, 0x10000, 10]);
    let saved = signal_saved(&mut a);
    assert_eq!(saved.rax, 4);
    // With SA_RESTART a waiting read runs again after the handler.
    a.k.process(1).unwrap().signals.mask = 0;
    with_handler_flags(&mut a, crate::signal::SA_RESTART);
    block_with_stack(&mut a, g::__NR_read, [fa, 0x10800, 16]);
    let saved = signal_saved(&mut a);
    assert_eq!(saved.fault_ip, 0x1000);
    assert_eq!(saved.rax, g::__NR_read as u64);
}

/// Installs pid 1's handler for SIGUSR1 with `flags`.
fn with_handler_flags(i: &mut Instance, flags: u64) {
    let act = crate::signal::SigAction {
        handler: 0x401234,
        flags: flags | crate::signal::SA_RESTORER,
        restorer: 0x401100,
        mask: 0,
    };
    i.k.process(1).unwrap().signals.set_action(10, act);
}

#[test]
fn eof_once_the_peer_is_gone_and_drained() {
    let (mut a, mut b) = instances(64);
    let fa = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    let fb = b.open("/dev/chan/link", g::O_RDWR).unwrap();
    assert_eq!(a.write(fa, b"bye"), Ok(3));
    a.end.close();
    b.event();
    assert_eq!(b.read(fb, 2).unwrap(), b"by");
    assert_eq!(b.read(fb, 64).unwrap(), b"e");
    assert_eq!(b.read(fb, 64).unwrap(), b"");
    // A reader waiting when the peer goes gets EOF.
    let (a, mut b) = instances(64);
    let fb = b.open("/dev/chan/link", g::O_RDONLY).unwrap();
    b.block(g::__NR_read, [fb, 0x10800, 64, 0, 0, 0]);
    a.end.close();
    b.event();
    assert_eq!(b.reply(), Some(0));
}

#[test]
fn writes_after_the_peer_is_gone_raise_sigpipe_and_fail_with_epipe() {
    let (mut a, b) = instances(64);
    let fa = a.open("/dev/chan/link", g::O_WRONLY).unwrap();
    b.end.close();
    a.event();
    // SIGPIPE ignored: EPIPE.
    let ign = crate::signal::SigAction {
        handler: crate::signal::SIG_IGN,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    a.k.process(1).unwrap().signals.set_action(13, ign);
    assert_eq!(a.write(fa, b"x"), Err(Errno::EPIPE));
    // By default SIGPIPE ends the writer.
    a.k.process(1)
        .unwrap()
        .signals
        .set_action(13, crate::signal::SigAction::default());
    poke(&mut a.k, 0x10000, b"x");
    let (o, _) = raw(
        &mut a.k,
        &mut a.plat,
        1,
        g::__NR_write,
        [fa, 0x10000, 1, 0, 0, 0],
    );
    assert_eq!(o, Outcome::NoReply);
    assert_eq!(a.k.exit_status(1), Some(ExitStatus::Signaled(13)));
    // A writer waiting for room when the peer goes: EPIPE for it too.
    let (mut a, b) = instances(4);
    let fa = a.open("/dev/chan/link", g::O_WRONLY).unwrap();
    assert_eq!(a.write(fa, b"full"), Ok(4));
    a.k.process(1).unwrap().signals.set_action(13, ign);
    a.block(g::__NR_write, [fa, 0x10000, 4, 0, 0, 0]);
    b.end.close();
    a.event();
    assert_eq!(a.reply(), Some(Errno::EPIPE.to_return()));
}

#[test]
fn poll_reports_in_out_and_hangup() {
    let (mut a, mut b) = instances(8);
    let fa = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    let fb = b.open("/dev/chan/link", g::O_RDWR).unwrap();
    let (pin, pout) = (g::POLLIN, g::POLLOUT);
    assert_eq!(b.poll(fb), pout);
    assert_eq!(a.write(fa, b"12345678"), Ok(8));
    assert_eq!(b.poll(fb), pin | pout);
    // a's direction is full.
    assert_eq!(a.poll(fa), 0);
    // A poll waiting on a full channel is woken when room comes.
    let mut pfd = [0u8; 8];
    pfd[..4].copy_from_slice(&(fa as i32).to_le_bytes());
    pfd[4..6].copy_from_slice(&(pout as u16).to_le_bytes());
    poke(&mut a.k, 0x11000, &pfd);
    a.block(g::__NR_poll, [0x11000, 1, u64::MAX, 0, 0, 0]);
    a.event();
    assert_eq!(a.reply(), None);
    assert_eq!(b.read(fb, 3).unwrap(), b"123");
    a.event();
    assert_eq!(a.reply(), Some(1));
    assert_eq!(a.peek(0x11006, 2), (pout as u16).to_le_bytes());
    // The peer gone: POLLHUP, readable (EOF) and POLLERR for writing.
    b.end.close();
    a.event();
    assert_eq!(a.poll(fa), g::POLLHUP | pin | g::POLLERR);
    let fr = a.open("/dev/chan/link", g::O_RDONLY).unwrap();
    assert_eq!(a.poll(fr), g::POLLHUP | pin);
}

#[test]
fn select_and_epoll_wait_are_woken_by_events() {
    let (mut a, mut b) = instances(8);
    let fa = a.open("/dev/chan/link", g::O_RDWR).unwrap();
    let fb = b.open("/dev/chan/link", g::O_RDWR).unwrap();
    // select for reading waits, and ends when data comes.
    let set = 1u64 << fb;
    poke(&mut b.k, 0x11000, &set.to_le_bytes());
    b.block(g::__NR_select, [fb + 1, 0x11000, 0, 0, 0, 0]);
    assert_eq!(a.write(fa, b"s"), Ok(1));
    b.event();
    assert_eq!(b.reply(), Some(1));
    assert_eq!(b.peek(0x11000, 8), set.to_le_bytes());
    assert_eq!(b.read(fb, 8).unwrap(), b"s");
    // epoll_wait, edge-triggered: one report per change.
    let ep = b.call(g::__NR_epoll_create1, [0; 6]).unwrap();
    let mut ev = [0u8; 12];
    ev[..4].copy_from_slice(&(g::EPOLLIN | g::EPOLLET).to_le_bytes());
    ev[4..].copy_from_slice(&77u64.to_le_bytes());
    poke(&mut b.k, 0x11100, &ev);
    b.call(
        g::__NR_epoll_ctl,
        [ep, g::EPOLL_CTL_ADD as u64, fb, 0x11100, 0, 0],
    )
    .unwrap();
    b.block(g::__NR_epoll_wait, [ep, 0x11200, 4, u64::MAX, 0, 0]);
    assert_eq!(a.write(fa, b"e"), Ok(1));
    b.event();
    assert_eq!(b.reply(), Some(1));
    let got = b.peek(0x11200, 12);
    assert_eq!(&got[..4], g::EPOLLIN.to_le_bytes());
    assert_eq!(&got[4..], 77u64.to_le_bytes());
    // Reported once: no change since, nothing to report.
    assert_eq!(b.call(g::__NR_epoll_wait, [ep, 0x11200, 4, 0, 0, 0]), Ok(0));
}

#[test]
fn sysrq_trigger_is_write_only_and_ignores_other_keys() {
    let (mut a, _b) = instances(8);
    assert_eq!(
        a.open("/proc/sysrq-trigger", g::O_RDONLY),
        Err(Errno::EACCES)
    );
    assert_eq!(a.open("/proc/sysrq-trigger", g::O_RDWR), Err(Errno::EACCES));
    // As `echo h > /proc/sysrq-trigger` opens it.
    let fd = a
        .open("/proc/sysrq-trigger", g::O_WRONLY | g::O_CREAT | g::O_TRUNC)
        .unwrap();
    assert_eq!(a.write(fd, b"h\n"), Ok(2));
    // Reopened through /proc/self/fd as its mode allows.
    let link = alloc::format!("/proc/self/fd/{fd}");
    assert_eq!(a.open(&link, g::O_RDONLY), Err(Errno::EACCES));
    let again = a.open(&link, g::O_WRONLY).unwrap();
    assert_eq!(a.read(again, 1), Err(Errno::EBADF));
    assert_eq!(a.write(fd, b"h"), Ok(1));
    assert_eq!(a.write(fd, b"s"), Ok(1));
    assert_eq!(
        a.plat.log,
        [
            "sysrq: key 'h' is not supported (ignored)",
            "sysrq: key 's' is not supported (ignored)"
        ]
    );
    a.call(g::__NR_fstat, [fd, 0x11000, 0, 0, 0, 0]).unwrap();
    let mode = u32::from_le_bytes(a.peek(0x11000 + 24, 4).try_into().unwrap());
    assert_eq!(mode, g::S_IFREG | 0o200);
    poke(&mut a.k, 0x11800, b"/proc/sysrq-trigger\0");
    a.call(
        g::__NR_newfstatat,
        [g::AT_FDCWD as u64, 0x11800, 0x11100, 0, 0, 0],
    )
    .unwrap();
    let mode = u32::from_le_bytes(a.peek(0x11100 + 24, 4).try_into().unwrap());
    assert_eq!(mode, g::S_IFREG | 0o200);
    // Other /proc files stay read-only; nothing can be made there.
    assert_eq!(a.open("/proc/uptime", g::O_WRONLY), Err(Errno::EACCES));
    assert_eq!(
        a.open("/proc/new", g::O_WRONLY | g::O_CREAT),
        Err(Errno::EACCES)
    );
}

#[test]
#[should_panic(expected = "sysrq: a crash was asked for (echo c > /proc/sysrq-trigger)")]
fn sysrq_c_crashes_the_libos() {
    let (mut a, _b) = instances(8);
    let fd = a.open("/proc/sysrq-trigger", g::O_WRONLY).unwrap();
    let _ = a.write(fd, b"c\n");
}
