use crate::cpio::Entry;
use crate::kernel::{Action, Kernel, Outcome};
use crate::mm::{Area, AreaKind};
use crate::process::{ExitStatus, Process};
use crate::testing::{test_kernel, MemSpace, TestPlatform};
use alloc::boxed::Box;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use selkie_fs::FileSystem;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

const RW: Perms = Perms {
    read: true,
    write: true,
    exec: false,
};

/// A kernel with pid 1 owning one RW page at 0x10000 and a heap start.
pub(super) fn setup() -> (Kernel, TestPlatform) {
    let mut k = test_kernel(Vec::new());
    k.alloc_pid();
    let p = Process::new(1, 0, Box::new(MemSpace::default()), "/bin/test".into());
    p.vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x12000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    p.vm().mm.brk_start = 0x100000;
    p.vm().mm.brk = 0x100000;
    k.procs.insert(1, p);
    (k, TestPlatform::default())
}

pub(super) fn call(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    nr: u32,
    args: [u64; 6],
) -> Result<u64, Errno> {
    let mut r = SyscallRegs {
        rax: nr as u64,
        rdi: args[0],
        rsi: args[1],
        rdx: args[2],
        r10: args[3],
        r8: args[4],
        r9: args[5],
        fault_ip: 0x1000,
        ..Default::default()
    };
    assert_eq!(k.syscall(plat, 1, &mut r), Outcome::Return);
    assert_eq!(r.fault_ip, 0x1002);
    match Errno::from_return(r.rax) {
        Some(e) => Err(e),
        None => Ok(r.rax),
    }
}

pub(super) fn poke(k: &mut Kernel, addr: u64, data: &[u8]) {
    let p = k.process(1).unwrap();
    p.vm().copy_out(addr, data).unwrap();
}

pub(super) fn peek(k: &mut Kernel, addr: u64, buf: &mut [u8]) {
    let p = k.process(1).unwrap();
    p.vm().copy_in(addr, buf).unwrap();
}

#[test]
fn write_goes_to_console_with_onlcr() {
    let (mut k, mut plat) = setup();
    poke(&mut k, 0x10000, b"hi\n");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_write, [1, 0x10000, 3, 0, 0, 0]),
        Ok(3)
    );
    assert_eq!(plat.console, b"hi\r\n");
}

#[test]
fn bad_pointers_and_fds() {
    let (mut k, mut plat) = setup();
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_write, [1, 1, 10, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_write,
            [1, 0xffff_8000_0000_0000, 10, 0, 0, 0]
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [0, 0x9000, 10, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_write, [7, 0x10000, 1, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    // A buffer running off the end of its area.
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_write, [1, 0x11ff0, 32, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert!(plat.console.is_empty());
}

#[test]
fn unknown_syscalls_are_enosys_and_logged_once() {
    let (mut k, mut plat) = setup();
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_add_key, [0; 6]),
        Err(Errno::ENOSYS)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_add_key, [0; 6]),
        Err(Errno::ENOSYS)
    );
    assert_eq!(call(&mut k, &mut plat, 100_000, [0; 6]), Err(Errno::ENOSYS));
    assert_eq!(plat.log.len(), 2);
    assert!(plat.log[0].contains("add_key"), "{}", plat.log[0]);
}

#[test]
fn exit_group_reports_status() {
    let (mut k, mut plat) = setup();
    let mut r = SyscallRegs {
        rax: g::__NR_exit_group as u64,
        rdi: 300,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut r), Outcome::NoReply);
    assert_eq!(k.exit_status(1), Some(ExitStatus::Exited(44)));
    assert_eq!(k.take_actions(), [Action::Kill { tid: 1 }]);
    assert_eq!(k.reap(1), Some(ExitStatus::Exited(44)));
}

#[test]
fn brk_grows_and_shrinks() {
    let (mut k, mut plat) = setup();
    assert_eq!(call(&mut k, &mut plat, g::__NR_brk, [0; 6]), Ok(0x100000));
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_brk, [0x103000, 0, 0, 0, 0, 0]),
        Ok(0x103000)
    );
    poke(&mut k, 0x102ff0, b"heap");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_brk, [0x101000, 0, 0, 0, 0, 0]),
        Ok(0x101000)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_write, [1, 0x102ff0, 4, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    // Below the start: unchanged.
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_brk, [0x1000, 0, 0, 0, 0, 0]),
        Ok(0x101000)
    );
}

#[test]
fn mmap_munmap_mprotect() {
    let (mut k, mut plat) = setup();
    let anon = (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as u64;
    let rw = (g::PROT_READ | g::PROT_WRITE) as u64;
    let a = call(
        &mut k,
        &mut plat,
        g::__NR_mmap,
        [0, 0x3000, rw, anon, u64::MAX, 0],
    )
    .unwrap();
    assert_eq!(a % 4096, 0);
    poke(&mut k, a + 0x2000, b"x");
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_mprotect,
            [a, 0x1000, g::PROT_READ as u64, 0, 0, 0]
        ),
        Ok(0)
    );
    // The kernel may not write to a read-only page on the user's behalf.
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [0, a, 1, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_munmap,
            [a + 0x1000, 0x1000, 0, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_write,
            [1, a + 0x1000, 1, 0, 0, 0]
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_write,
            [1, a + 0x2000, 1, 0, 0, 0]
        ),
        Ok(1)
    );
    // Fixed, no-replace over an existing mapping.
    let fixed = anon | g::MAP_FIXED_NOREPLACE as u64;
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_mmap,
            [a, 0x1000, rw, fixed, u64::MAX, 0]
        ),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_mmap,
            [0, 0, rw, anon, u64::MAX, 0]
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_mmap,
            [0, 4096, rw, g::MAP_PRIVATE as u64, 3, 0]
        ),
        Err(Errno::EBADF),
        "a file mapping of a descriptor that is not open"
    );
    // The console cannot be mapped.
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_mmap,
            [0, 4096, rw, g::MAP_PRIVATE as u64, 0, 0]
        ),
        Err(Errno::ENODEV)
    );
}

#[test]
fn out_of_memory_is_enomem_not_a_panic() {
    let mut k = test_kernel(Vec::new());
    k.alloc_pid();
    let mut plat = TestPlatform::default();
    let space = MemSpace {
        limit: Some(1),
        ..Default::default()
    };
    let p = Process::new(1, 0, Box::new(space), "/t".into());
    p.vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x20000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    k.procs.insert(1, p);
    assert_eq!(
        k.page_fault(&mut plat, 1, 0x10000, 0, true, false),
        crate::kernel::FaultOutcome::Resume
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_getrandom,
            [0x12000, 16, 0, 0, 0, 0]
        ),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        k.page_fault(&mut plat, 1, 0x11000, 0, true, false),
        crate::kernel::FaultOutcome::Killed
    );
    assert_eq!(
        k.exit_status(1),
        Some(ExitStatus::Signaled(crate::signal::SIGKILL))
    );
}

#[test]
fn arch_prctl_uname_and_identity() {
    let (mut k, mut plat) = setup();
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_arch_prctl,
            [g::ARCH_SET_FS as u64, 0x10800, 0, 0, 0, 0]
        ),
        Ok(0)
    );
    assert!(k.process(1).unwrap().fs_base_dirty);
    assert_eq!(k.process(1).unwrap().fs_base, 0x10800);
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_arch_prctl,
            [0x9999, 0, 0, 0, 0, 0]
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_uname, [0x10000, 0, 0, 0, 0, 0]),
        Ok(0)
    );
    let mut u = [0u8; 390];
    peek(&mut k, 0x10000, &mut u);
    assert_eq!(&u[..6], b"Linux\0");
    assert_eq!(&u[65..72], b"selkie\0");
    assert_eq!(call(&mut k, &mut plat, g::__NR_getpid, [0; 6]), Ok(1));
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_set_tid_address,
            [0x10000, 0, 0, 0, 0, 0]
        ),
        Ok(1)
    );
    poke(&mut k, 0x11000, b"/proc/self/exe\0");
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_readlink,
            [0x11000, 0x11100, 64, 0, 0, 0]
        ),
        Ok(9)
    );
    let mut b = [0u8; 9];
    peek(&mut k, 0x11100, &mut b);
    assert_eq!(&b, b"/bin/test");
}

#[test]
fn sigaction_is_recorded_and_validated() {
    let (mut k, mut plat) = setup();
    let act = crate::signal::SigAction {
        handler: 0x401000,
        flags: 0x04000000,
        restorer: 0x401100,
        mask: 0,
    };
    poke(&mut k, 0x10000, &act.to_bytes());
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_rt_sigaction,
            [2, 0x10000, 0x10100, 8, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_rt_sigaction,
            [2, 0, 0x10100, 8, 0, 0]
        ),
        Ok(0)
    );
    let mut b = [0u8; 32];
    peek(&mut k, 0x10100, &mut b);
    assert_eq!(crate::signal::SigAction::from_bytes(&b), act);
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_rt_sigaction,
            [9, 0x10000, 0, 8, 0, 0]
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_rt_sigaction, [65, 0, 0, 8, 0, 0]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn poll_reports_console_readiness() {
    let (mut k, mut plat) = setup();
    // fd 0 POLLIN, fd 1 POLLOUT, fd 9 POLLIN.
    let mut fds = Vec::new();
    for (fd, ev) in [(0i32, g::POLLIN), (1, g::POLLOUT), (9, g::POLLIN)] {
        fds.extend_from_slice(&fd.to_le_bytes());
        fds.extend_from_slice(&(ev as i16).to_le_bytes());
        fds.extend_from_slice(&0i16.to_le_bytes());
    }
    poke(&mut k, 0x10000, &fds);
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_poll, [0x10000, 3, 0, 0, 0, 0]),
        Ok(2)
    );
    let mut back = [0u8; 24];
    peek(&mut k, 0x10000, &mut back);
    let rev = |b: &[u8; 24], i: usize| u16::from_le_bytes([b[i * 8 + 6], b[i * 8 + 7]]) as u32;
    assert_eq!(
        (rev(&back, 0), rev(&back, 1), rev(&back, 2)),
        (0, g::POLLOUT, g::POLLNVAL)
    );
    k.console_input(&mut plat, b"x\n");
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_poll,
            [0x10000, 1, u64::MAX, 0, 0, 0]
        ),
        Ok(1)
    );
    peek(&mut k, 0x10000, &mut back);
    assert_eq!(rev(&back, 0), g::POLLIN);
    // The whole line, with its newline (canonical mode).
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [0, 0x11000, 10, 0, 0, 0]),
        Ok(2)
    );
    assert_eq!(plat.console, b"x\r\n", "the line was echoed");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_poll, [0x1, 1, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

pub(super) fn raw(
    k: &mut Kernel,
    plat: &mut TestPlatform,
    pid: u32,
    nr: u32,
    args: [u64; 6],
) -> (Outcome, SyscallRegs) {
    let mut r = SyscallRegs {
        rax: nr as u64,
        rdi: args[0],
        rsi: args[1],
        rdx: args[2],
        r10: args[3],
        r8: args[4],
        r9: args[5],
        fault_ip: 0x1000,
        sp: 0x7000,
        ..Default::default()
    };
    let o = k.syscall(plat, pid, &mut r);
    (o, r)
}

#[test]
fn console_read_blocks_until_input() {
    let (mut k, mut plat) = setup();
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_read,
        [0, 0x10000, 16, 0, 0, 0],
    );
    assert_eq!(o, Outcome::Block);
    assert!(k.take_actions().is_empty());
    k.console_input(&mut plat, b"ls\n");
    let acts = k.take_actions();
    let [Action::Reply { tid: 1, regs }] = acts.as_slice() else {
        panic!("{acts:?}");
    };
    assert_eq!(regs.rax, 3);
    assert_eq!(regs.fault_ip, 0x1002);
    let mut b = [0u8; 3];
    peek(&mut k, 0x10000, &mut b);
    assert_eq!(&b, b"ls\n");
}

#[test]
fn fork_is_copy_on_write_and_wait_reaps() {
    let (mut k, mut plat) = setup();
    poke(&mut k, 0x10000, b"parent");
    let (o, r) = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]);
    assert_eq!(o, Outcome::Return);
    let child = r.rax as u32;
    assert_eq!(child, 2);
    let acts = k.take_actions();
    let [Action::Start {
        tid: 2, context, ..
    }] = acts.as_slice()
    else {
        panic!("{acts:?}");
    };
    assert_eq!(context[0], 0x1002); // resumes after the syscall
    assert_eq!(context[1], 0x7000); // same stack pointer
    assert_eq!(context[3], 0); // rax = 0 in the child
                               // The child writes: it gets its own copy; the parent keeps its data.
    {
        let c = k.process(2).unwrap();
        c.vm().copy_out(0x10000, b"child!").unwrap();
    }
    let mut b = [0u8; 6];
    peek(&mut k, 0x10000, &mut b);
    assert_eq!(&b, b"parent");
    {
        let c = k.process(2).unwrap();
        c.vm().copy_in(0x10000, &mut b).unwrap();
    }
    assert_eq!(&b, b"child!");
    // The parent waits; the child's exit wakes it with the status.
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_wait4,
        [u64::MAX, 0x11000, 0, 0, 0, 0],
    );
    assert_eq!(o, Outcome::Block);
    let (o, _) = raw(&mut k, &mut plat, 2, g::__NR_exit_group, [3, 0, 0, 0, 0, 0]);
    assert_eq!(o, Outcome::NoReply);
    let acts = k.take_actions();
    assert_eq!(acts[0], Action::Kill { tid: 2 });
    let Action::Reply { tid: 1, regs } = acts[1] else {
        panic!("{acts:?}");
    };
    assert_eq!(regs.rax, 2);
    let mut st = [0u8; 4];
    peek(&mut k, 0x11000, &mut st);
    assert_eq!(i32::from_le_bytes(st), 3 << 8);
    assert!(k.process(2).is_none(), "reaped");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_wait4, [u64::MAX, 0, 0, 0, 0, 0]),
        Err(Errno::ECHILD)
    );
}

#[test]
fn wnohang_and_vfork() {
    let (mut k, mut plat) = setup();
    let (o, _) = raw(&mut k, &mut plat, 1, g::__NR_vfork, [0; 6]);
    assert_eq!(o, Outcome::Block);
    let _ = k.take_actions();
    assert_eq!(call_as(&mut k, &mut plat, 1, g::__NR_getpid), 1);
    // The child exits: the vfork parent resumes with the child's pid.
    let (o, _) = raw(&mut k, &mut plat, 2, g::__NR_exit, [0; 6]);
    assert_eq!(o, Outcome::NoReply);
    let acts = k.take_actions();
    assert!(acts.contains(&Action::Kill { tid: 2 }));
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Reply { tid: 1, regs } if regs.rax == 2)));
    let (_, r) = raw(&mut k, &mut plat, 1, g::__NR_wait4, [2, 0, 1, 0, 0, 0]);
    assert_eq!(r.rax, 2);
}

fn call_as(k: &mut Kernel, plat: &mut TestPlatform, pid: u32, nr: u32) -> u64 {
    raw(k, plat, pid, nr, [0; 6]).1.rax
}

#[test]
fn fork_limit_is_eagain() {
    let (mut k, mut plat) = setup();
    for _ in 1..crate::kernel::MAX_PROCESSES {
        assert_eq!(
            raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).0,
            Outcome::Return
        );
    }
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_fork, [0; 6]),
        Err(Errno::EAGAIN)
    );
}

/// A minimal static ELF: one R+X PT_LOAD at 0x401000 whose entry is its start.
fn tiny_elf() -> Vec<u8> {
    let mut b = alloc::vec![0u8; 0x1010];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16] = 2;
    b[18] = 62;
    b[20] = 1;
    b[24..32].copy_from_slice(&0x401000u64.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[54] = 56;
    b[56] = 1;
    let ph = 64;
    b[ph] = 1; // PT_LOAD
    b[ph + 4] = 5; // R+X
    b[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_le_bytes());
    b[ph + 16..ph + 24].copy_from_slice(&0x401000u64.to_le_bytes());
    b[ph + 32..ph + 40].copy_from_slice(&16u64.to_le_bytes());
    b[ph + 40..ph + 48].copy_from_slice(&16u64.to_le_bytes());
    b[ph + 48..ph + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    b[0x1000..0x1010].fill(0x90);
    b
}

fn tree() -> Vec<Entry<'static>> {
    let elf: &'static [u8] = Box::leak(tiny_elf().into_boxed_slice());
    alloc::vec![
        Entry {
            name: b"bin/prog",
            mode: 0o100755,
            mtime: 0,
            data: elf
        },
        Entry {
            name: b"bin/script",
            mode: 0o100755,
            mtime: 0,
            data: b"#!/bin/prog -x\necho\n"
        },
        Entry {
            name: b"etc/passwd",
            mode: 0o100644,
            mtime: 0,
            data: b"root:x:0:0::/:/bin/sh\n"
        },
    ]
}

#[test]
fn spawn_exec_and_scripts() {
    let mut k = test_kernel(tree());
    let mut plat = TestPlatform::default();
    let pid = k.spawn(&mut plat, &[b"prog", b"a"], &[b"X=1"]).unwrap();
    assert_eq!(pid, 1);
    let acts = k.take_actions();
    let [Action::Start {
        tid: 1, context, ..
    }] = acts.as_slice()
    else {
        panic!("{acts:?}");
    };
    assert_eq!(context[0], 0x401000);
    assert_eq!(k.process(1).unwrap().exe, b"/bin/prog");
    // execve of a script runs its interpreter with the script path.
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x11000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    p.vm().copy_out(0x10000, b"/bin/script\0").unwrap();
    let mut argv = Vec::new();
    argv.extend_from_slice(&0x10000u64.to_le_bytes());
    argv.extend_from_slice(&0u64.to_le_bytes());
    p.vm().copy_out(0x10100, &argv).unwrap();
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_execve,
        [0x10000, 0x10100, 0, 0, 0, 0],
    );
    assert_eq!(o, Outcome::NoReply);
    let acts = k.take_actions();
    let [Action::Exec {
        tid: 1, context, ..
    }] = acts.as_slice()
    else {
        panic!("{acts:?}");
    };
    assert_eq!(context[0], 0x401000);
    // argv is now: /bin/prog -x /bin/script
    let sp = context[1];
    let p = k.process(1).unwrap();
    let mut w = [0u8; 8];
    p.vm().copy_in(sp, &mut w).unwrap();
    assert_eq!(u64::from_le_bytes(w), 3);
    p.vm().copy_in(sp + 16, &mut w).unwrap();
    let arg1 = p.vm().read_cstring(u64::from_le_bytes(w), 64).unwrap();
    assert_eq!(arg1, b"-x");
    // The old image is gone: the scratch area no longer exists.
    assert!(p.vm().mm.find(0x10000).is_none());
    // Errors leave the caller running: a missing file, a non-ELF file.
    p.vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x11000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    p.vm().copy_out(0x10000, b"/nope\0/etc/passwd\0").unwrap();
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_execve,
            [0x10000, 0, 0, 0, 0, 0]
        )
        .1
        .rax,
        Errno::ENOENT.to_return()
    );
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_execve,
            [0x10006, 0, 0, 0, 0, 0]
        )
        .1
        .rax,
        Errno::EACCES.to_return()
    );
    assert!(k.spawn(&mut plat, &[b"/etc/passwd"], &[]).is_err());
    assert_eq!(
        k.spawn(&mut plat, &[b"nothing"], &[]).unwrap_err().errno(),
        Errno::ENOENT
    );
}

#[test]
fn orphans_go_to_the_top_level_process_and_die_with_it() {
    let (mut k, mut plat) = setup();
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    let grandchild = raw(&mut k, &mut plat, child, g::__NR_fork, [0; 6]).1.rax as u32;
    raw(&mut k, &mut plat, child, g::__NR_exit, [0; 6]);
    assert_eq!(k.process(grandchild).unwrap().ppid, 1);
    assert_eq!(call_as(&mut k, &mut plat, grandchild, g::__NR_getppid), 1);
    raw(&mut k, &mut plat, 1, g::__NR_exit, [0; 6]);
    assert!(k.process(grandchild).is_none());
    assert!(k.take_actions().contains(&Action::Kill { tid: grandchild }));
}

#[test]
fn nanosleep_wakes_on_tick() {
    let (mut k, mut plat) = setup();
    poke(
        &mut k,
        0x10000,
        &selkie_syscalls::types::Timespec {
            tv_sec: 0,
            tv_nsec: 5000,
        }
        .to_bytes(),
    );
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_nanosleep,
        [0x10000, 0, 0, 0, 0, 0],
    );
    assert_eq!(o, Outcome::Block);
    let d = k.next_deadline().unwrap();
    k.tick(&mut plat);
    // TestPlatform's clock advances 1 us per reading: not yet due after one tick.
    if plat.now < d {
        assert!(k.take_actions().is_empty());
    }
    while plat.now < d {
        k.tick(&mut plat);
    }
    k.tick(&mut plat);
    assert!(matches!(
        k.take_actions().as_slice(),
        [Action::Reply { tid: 1, .. }]
    ));
    assert_eq!(k.next_deadline(), None);
    poke(
        &mut k,
        0x10000,
        &selkie_syscalls::types::Timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000_000,
        }
        .to_bytes(),
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_nanosleep,
            [0x10000, 0, 0, 0, 0, 0]
        ),
        Err(Errno::EINVAL)
    );
}

#[test]
fn stat_and_access_over_the_tree() {
    let mut k = test_kernel(tree());
    let mut plat = TestPlatform::default();
    k.spawn(&mut plat, &[b"prog"], &[]).unwrap();
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x11000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    p.vm()
        .copy_out(0x10000, b"/bin/prog\0/etc/passwd\0/nope\0/\0")
        .unwrap();
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_stat,
            [0x10000, 0x10400, 0, 0, 0, 0]
        )
        .1
        .rax,
        0
    );
    let mut st = [0u8; 144];
    peek(&mut k, 0x10400, &mut st);
    assert_eq!(u32::from_le_bytes(st[24..28].try_into().unwrap()), 0o100755);
    assert_eq!(
        u64::from_le_bytes(st[48..56].try_into().unwrap()),
        tiny_elf().len() as u64
    );
    let r = |k: &mut Kernel, plat: &mut TestPlatform, nr: u32, a: u64, b: u64| {
        raw(k, plat, 1, nr, [a, b, 0, 0, 0, 0]).1.rax
    };
    assert_eq!(
        r(&mut k, &mut plat, g::__NR_stat, 0x10000 + 22, 0x10400),
        Errno::ENOENT.to_return()
    );
    assert_eq!(r(&mut k, &mut plat, g::__NR_stat, 0x10000 + 28, 0x10400), 0); // "/" is a directory
    peek(&mut k, 0x10400, &mut st);
    assert_eq!(
        u32::from_le_bytes(st[24..28].try_into().unwrap()) & 0o170000,
        0o040000
    );
    assert_eq!(r(&mut k, &mut plat, g::__NR_access, 0x10000, 1), 0); // X_OK on /bin/prog
    assert_eq!(
        r(&mut k, &mut plat, g::__NR_access, 0x1000a, 1),
        Errno::EACCES.to_return()
    );
    assert_eq!(r(&mut k, &mut plat, g::__NR_access, 0x1000a, 4), 0);
    assert_eq!(
        r(&mut k, &mut plat, g::__NR_stat, 0x10000, 0x1),
        Errno::EFAULT.to_return()
    );
}

fn install(k: &mut Kernel, pid: u32, signo: u32, handler: u64, flags: u64) {
    let act = crate::signal::SigAction {
        handler,
        flags: flags | crate::signal::SA_RESTORER,
        restorer: 0x401100,
        mask: 0,
    };
    let p = k.process(pid).unwrap();
    p.signals.set_action(signo, act);
}

/// Process 1 gets a stack area for signal frames (0x20000..0x30000) and an
/// SA_SIGINFO handler at 0x401234 for SIGUSR1.
fn handler_and_stack(k: &mut Kernel) {
    k.process(1)
        .unwrap()
        .vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    install(k, 1, 10, 0x401234, crate::signal::SA_SIGINFO);
}

#[test]
fn signal_handler_frame_and_sigreturn() {
    let (mut k, mut plat) = setup();
    handler_and_stack(&mut k);
    let mut r = SyscallRegs {
        rax: g::__NR_kill as u64,
        rdi: 1,
        rsi: 10,
        rbx: 0xb0b,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut r), Outcome::Return);
    // The reply enters the handler: rdi = signo, rsi = &siginfo, rdx = &ucontext.
    assert_eq!(r.fault_ip, 0x401234);
    assert_eq!(r.rdi, 10);
    assert_eq!((r.sp + 8) % 16, 0, "ABI: rsp+8 is 16-byte aligned at entry");
    assert!(r.sp < 0x2f000 - 128);
    assert_eq!(r.rdx, r.sp + 8);
    assert_eq!(r.rsi, r.sp + 8 + crate::signal::UCONTEXT_SIZE);
    let mut w = [0u8; 8];
    peek(&mut k, r.sp, &mut w);
    assert_eq!(u64::from_le_bytes(w), 0x401100, "return address = restorer");
    let mut info = [0u8; 16];
    peek(&mut k, r.rsi, &mut info);
    assert_eq!(i32::from_le_bytes(info[0..4].try_into().unwrap()), 10);
    assert_eq!(i32::from_le_bytes(info[8..12].try_into().unwrap()), 0); // SI_USER
                                                                        // SIGUSR1 is blocked while the handler runs.
    assert_ne!(
        k.process(1).unwrap().signals.mask & crate::signal::bit(10),
        0
    );
    // The handler returns through the restorer: rt_sigreturn with rsp = frame + 8.
    let mut sr = SyscallRegs {
        rax: g::__NR_rt_sigreturn as u64,
        sp: r.sp + 8,
        fault_ip: 0x401100,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut sr), Outcome::Return);
    assert_eq!(sr.fault_ip, 0x1002, "back after the kill syscall");
    assert_eq!(sr.sp, 0x2f000);
    assert_eq!(sr.rax, 0, "kill's result");
    assert_eq!(sr.rbx, 0xb0b);
    assert_eq!(k.process(1).unwrap().signals.mask, 0);
}

#[test]
fn signal_frames_save_and_restore_the_fpu_state() {
    let (mut k, mut plat) = setup();
    plat.fpu = Some(Default::default());
    let mut busy = crate::platform::initial_fpu_state();
    busy[24..28].copy_from_slice(&0x7f80u32.to_le_bytes()); // MXCSR: round toward zero
    busy[160] = 0x5a; // xmm0
    plat.fpu.as_mut().unwrap().insert(1, busy);
    handler_and_stack(&mut k);
    let mut r = SyscallRegs {
        rax: g::__NR_kill as u64,
        rdi: 1,
        rsi: 10,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut r), Outcome::Return);
    // uc_mcontext.fpregs points at a 64-byte aligned copy of the state.
    let mut w = [0u8; 8];
    peek(&mut k, r.rdx + 40 + 23 * 8, &mut w);
    let fpregs = u64::from_le_bytes(w);
    assert!(fpregs > r.sp && fpregs % 64 == 0);
    let mut img = [0u8; 512];
    peek(&mut k, fpregs, &mut img);
    assert_eq!(img[..464], busy[..464]);
    // The handler runs with a clean state.
    assert_eq!(
        plat.fpu.as_ref().unwrap()[&1],
        crate::platform::initial_fpu_state()
    );
    // What the frame holds at rt_sigreturn comes back (the handler may edit it).
    img[161] = 0xa5;
    k.process(1).unwrap().vm().copy_out(fpregs, &img).unwrap();
    let mut sr = SyscallRegs {
        rax: g::__NR_rt_sigreturn as u64,
        sp: r.sp + 8,
        fault_ip: 0x401100,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut sr), Outcome::Return);
    assert_eq!(plat.fpu.as_ref().unwrap()[&1][..], img[..]);
}

#[test]
fn default_actions_and_sigchld() {
    let (mut k, mut plat) = setup();
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax;
    // SIGTERM with no handler kills; the parent gets SIGCHLD (ignored by default).
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_kill, [child, 15, 0, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(k.exit_status(child as u32), Some(ExitStatus::Signaled(15)));
    assert_eq!(k.process(1).unwrap().signals.pending, 0);
    let (_, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_wait4,
        [child, 0x10000, 0, 0, 0, 0],
    );
    assert_eq!(r.rax, child);
    let mut st = [0u8; 4];
    peek(&mut k, 0x10000, &mut st);
    assert_eq!(i32::from_le_bytes(st), 15);
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_kill, [999, 15, 0, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_kill, [1, 65, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_kill, [1, 0, 0, 0, 0, 0]),
        Ok(0)
    );
}

#[test]
fn signals_interrupt_waits_eintr_or_restart() {
    let (mut k, mut plat) = setup();
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    // No SA_RESTART: a blocked console read fails with EINTR, then the handler runs.
    install(&mut k, 1, 14, 0x401234, 0);
    let mut r = SyscallRegs {
        rax: g::__NR_read as u64,
        rsi: 0x10000,
        rdx: 4,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut r), Outcome::Block);
    let child = raw(&mut k, &mut plat, 1, g::__NR_getpid, [0; 6]).1.rax; // (caller is blocked; just a probe)
    let _ = child;
    k.send_signal(
        &mut plat,
        1,
        crate::signal::SigInfo {
            signo: 14,
            ..Default::default()
        },
    );
    let acts = k.take_actions();
    let [Action::Reply { tid: 1, regs }] = acts.as_slice() else {
        panic!("{acts:?}")
    };
    assert_eq!(regs.fault_ip, 0x401234);
    let mut uc = alloc::vec![0u8; crate::signal::UCONTEXT_SIZE as usize];
    peek(&mut k, regs.rdx, &mut uc);
    let (saved, _) = crate::signal::parse_ucontext(&uc, regs);
    assert_eq!(saved.rax, Errno::EINTR.to_return());
    assert_eq!(saved.fault_ip, 0x1002);
    // With SA_RESTART the saved context re-executes the syscall.
    k.process(1).unwrap().signals.mask = 0;
    install(&mut k, 1, 14, 0x401234, crate::signal::SA_RESTART);
    let mut r = SyscallRegs {
        rax: g::__NR_read as u64,
        rsi: 0x10000,
        rdx: 4,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut r), Outcome::Block);
    k.send_signal(
        &mut plat,
        1,
        crate::signal::SigInfo {
            signo: 14,
            ..Default::default()
        },
    );
    let acts = k.take_actions();
    let [Action::Reply { regs, .. }] = acts.as_slice() else {
        panic!("{acts:?}")
    };
    peek(&mut k, regs.rdx, &mut uc);
    let (saved, _) = crate::signal::parse_ucontext(&uc, regs);
    assert_eq!(saved.fault_ip, 0x1000);
    assert_eq!(saved.rax, g::__NR_read as u64);
}

#[test]
fn sigsuspend_waits_for_a_handled_signal() {
    let (mut k, mut plat) = setup();
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    install(&mut k, 1, 17, 0x401234, 0);
    k.process(1).unwrap().signals.mask = crate::signal::bit(17);
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    poke(&mut k, 0x10000, &0u64.to_le_bytes());
    let mut r = SyscallRegs {
        rax: g::__NR_rt_sigsuspend as u64,
        rdi: 0x10000,
        rsi: 8,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut r), Outcome::Block);
    let _ = k.take_actions();
    raw(&mut k, &mut plat, child, g::__NR_exit, [0; 6]);
    let acts = k.take_actions();
    let Some(Action::Reply { regs, .. }) = acts
        .iter()
        .find(|a| matches!(a, Action::Reply { tid: 1, .. }))
    else {
        panic!("{acts:?}")
    };
    assert_eq!(regs.fault_ip, 0x401234);
    assert_eq!(regs.rdi, 17);
    let mut info = [0u8; 32];
    peek(&mut k, regs.rsi, &mut info);
    assert_eq!(u32::from_le_bytes(info[16..20].try_into().unwrap()), child); // si_pid
                                                                             // The frame saves the pre-sigsuspend mask (SIGCHLD blocked).
    let mut uc = alloc::vec![0u8; crate::signal::UCONTEXT_SIZE as usize];
    peek(&mut k, regs.rdx, &mut uc);
    let (saved, mask) = crate::signal::parse_ucontext(&uc, regs);
    assert_eq!(mask, crate::signal::bit(17));
    assert_eq!(saved.rax, Errno::EINTR.to_return());
}

#[test]
fn alarm_fires_sigalrm() {
    let (mut k, mut plat) = setup();
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_alarm, [1, 0, 0, 0, 0, 0]),
        Ok(0)
    );
    assert!(k.next_deadline().is_some());
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_alarm, [5, 0, 0, 0, 0, 0]),
        Ok(1)
    );
    plat.now += 6_000_000_000;
    k.tick(&mut plat);
    assert_eq!(k.exit_status(1), Some(ExitStatus::Signaled(14)));
}

#[test]
fn fault_signal_enters_the_handler_with_si_addr() {
    let (mut k, mut plat) = setup();
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    install(&mut k, 1, 11, 0x401234, crate::signal::SA_SIGINFO);
    assert_eq!(
        k.page_fault(&mut plat, 1, 0x9999, 0x401000, true, false),
        crate::kernel::FaultOutcome::Signal
    );
    let mut ctx = [0u64; 19];
    ctx[0] = 0x401000; // rip
    ctx[1] = 0x2f000; // rsp
    ctx[5] = 0xc0ffee; // rcx
    ctx[18] = 0x7000; // fs base
    let h = k.fault_signal(&mut plat, 1, &ctx).unwrap();
    assert_eq!(h[0], 0x401234);
    assert_eq!(h[8], 11); // rdi = SIGSEGV
    assert_eq!(h[18], 0x7000, "FS base kept");
    let mut info = [0u8; 24];
    peek(&mut k, h[7], &mut info); // rsi = &siginfo
    assert_eq!(u64::from_le_bytes(info[16..24].try_into().unwrap()), 0x9999); // si_addr
    assert_eq!(i32::from_le_bytes(info[8..12].try_into().unwrap()), 1); // SEGV_MAPERR
                                                                        // Returning from the handler restores rcx too (full restore).
    let mut sr = SyscallRegs {
        rax: g::__NR_rt_sigreturn as u64,
        sp: h[1] + 8,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut sr), Outcome::Return);
    assert_eq!((sr.fault_ip, sr.rcx), (0x401000, 0xc0ffee));
    assert!(k.process(1).unwrap().full_restore);
    // Without a handler the fault kills.
    k.process(1)
        .unwrap()
        .signals
        .set_action(11, Default::default());
    assert_eq!(
        k.page_fault(&mut plat, 1, 0x9999, 0x401000, true, false),
        crate::kernel::FaultOutcome::Killed
    );
    assert_eq!(k.exit_status(1), Some(ExitStatus::Signaled(11)));
}

const THREAD_FLAGS: u64 = (g::CLONE_VM
    | g::CLONE_FS
    | g::CLONE_FILES
    | g::CLONE_SIGHAND
    | g::CLONE_THREAD
    | g::CLONE_SYSVSEM
    | g::CLONE_SETTLS
    | g::CLONE_PARENT_SETTID
    | g::CLONE_CHILD_CLEARTID) as u64;

/// tkill and tgkill are thread-directed: a signal a thread sends itself
/// while blocking it (musl's raise) stays pending on that thread and is not
/// handed to another thread that leaves it unblocked.
#[test]
fn tkill_signal_stays_with_its_thread() {
    let (mut k, mut plat) = setup();
    handler_and_stack(&mut k);
    let (_, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone,
        [THREAD_FLAGS, 0x11800, 0x11000, 0x11004, 0x11100, 0],
    );
    let tid = r.rax as u32;
    k.take_actions();
    k.process(tid).unwrap().signals.mask = 1 << 9; // SIGUSR1 blocked in the thread only
    let (_, r) = raw(
        &mut k,
        &mut plat,
        tid,
        g::__NR_tkill,
        [tid as u64, 10, 0, 0, 0, 0],
    );
    assert_eq!(r.rax, 0);
    assert_eq!(
        k.process(1).unwrap().signals.pending,
        0,
        "not on the main thread"
    );
    assert_eq!(k.process(tid).unwrap().signals.pending, 1 << 9);
    // tgkill from the main thread, too, leaves it with the blocking thread.
    let (_, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_tgkill,
        [1, tid as u64, 10, 0, 0, 0],
    );
    assert_eq!(r.rax, 0);
    assert_eq!(k.process(1).unwrap().signals.pending, 0);
    // Unblocked, the handler runs in the thread it was sent to.
    k.process(tid).unwrap().signals.mask = 0;
    let mut r = SyscallRegs {
        rax: g::__NR_getpid as u64,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, tid, &mut r), Outcome::Return);
    assert_eq!(
        r.fault_ip, 0x401234,
        "handler entered by the raising thread"
    );
    assert_eq!(k.process(tid).unwrap().signals.pending, 0);
}

#[test]
fn threads_share_memory_and_join_through_the_clear_tid_futex() {
    let (mut k, mut plat) = setup();
    // clone(flags, stack, ptid, ctid, tls)
    let (o, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone,
        [THREAD_FLAGS, 0x11800, 0x11000, 0x11004, 0x11100, 0],
    );
    assert_eq!(o, Outcome::Return);
    let tid = r.rax as u32;
    assert_eq!(tid, 2);
    let acts = k.take_actions();
    let [Action::Start {
        tid: 2, context, ..
    }] = acts.as_slice()
    else {
        panic!("{acts:?}")
    };
    assert_eq!(context[1], 0x11800); // its own stack
    assert_eq!(context[3], 0); // rax = 0
    assert_eq!(context[18], 0x11100); // CLONE_SETTLS
    let mut w = [0u8; 4];
    peek(&mut k, 0x11000, &mut w);
    assert_eq!(u32::from_le_bytes(w), 2, "CLONE_PARENT_SETTID");
    // Same process, different thread; memory is shared (no copy-on-write).
    assert_eq!(call_as(&mut k, &mut plat, 2, g::__NR_getpid), 1);
    assert_eq!(call_as(&mut k, &mut plat, 2, g::__NR_gettid), 2);
    {
        let t = k.process(2).unwrap();
        t.vm().copy_out(0x10000, b"shared").unwrap();
    }
    let mut b = [0u8; 6];
    peek(&mut k, 0x10000, &mut b);
    assert_eq!(&b, b"shared");
    // The main thread joins: futex wait on the ctid word while it holds the tid.
    poke(&mut k, 0x11004, &2u32.to_le_bytes());
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_futex,
        [0x11004, 0, 2, 0, 0, 0],
    );
    assert_eq!(o, Outcome::Block);
    // A stale value does not block.
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            2,
            g::__NR_futex,
            [0x11004, 0, 7, 0, 0, 0]
        )
        .1
        .rax,
        Errno::EAGAIN.to_return()
    );
    // The thread exits: the word is cleared and the joiner woken; the process lives on.
    assert_eq!(
        raw(&mut k, &mut plat, 2, g::__NR_exit, [0; 6]).0,
        Outcome::NoReply
    );
    let acts = k.take_actions();
    assert!(acts.contains(&Action::Kill { tid: 2 }));
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Reply { tid: 1, regs } if regs.rax == 0)));
    peek(&mut k, 0x11004, &mut w);
    assert_eq!(u32::from_le_bytes(w), 0);
    assert_eq!(k.exit_status(1), None);
    assert!(k.process(2).is_none());
}

#[test]
fn exit_group_ends_every_thread_and_signals_pick_a_thread() {
    let (mut k, mut plat) = setup();
    let t2 = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone,
        [THREAD_FLAGS, 0x11800, 0x11000, 0x11004, 0, 0],
    )
    .1
    .rax as u32;
    let t3 = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone,
        [THREAD_FLAGS, 0x11900, 0x11000, 0x11008, 0, 0],
    )
    .1
    .rax as u32;
    let _ = k.take_actions();
    // Thread 3 waits on a futex; the main thread blocks SIGUSR1; a
    // process-directed SIGUSR1 with a handler goes to a thread that accepts it.
    k.process(1).unwrap().signals.mask = crate::signal::bit(10);
    k.process(t2).unwrap().signals.mask = crate::signal::bit(10);
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    install(&mut k, 1, 10, 0x401234, 0);
    let mut r = SyscallRegs {
        rax: g::__NR_futex as u64,
        rdi: 0x11010,
        rdx: 0,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, t3, &mut r), Outcome::Block);
    k.send_signal(
        &mut plat,
        1,
        crate::signal::SigInfo {
            signo: 10,
            ..Default::default()
        },
    );
    let acts = k.take_actions();
    assert!(acts.iter().any(
        |a| matches!(a, Action::Reply { tid, regs } if *tid == t3 && regs.fault_ip == 0x401234)
    ));
    // exit_group from thread 2 ends all of them.
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            t2,
            g::__NR_exit_group,
            [9, 0, 0, 0, 0, 0]
        )
        .0,
        Outcome::NoReply
    );
    let acts = k.take_actions();
    for t in [1, t2, t3] {
        assert!(acts.contains(&Action::Kill { tid: t }), "{t}: {acts:?}");
    }
    assert_eq!(k.exit_status(1), Some(ExitStatus::Exited(9)));
    assert!(k.process(t2).is_none() && k.process(t3).is_none());
}

#[test]
fn futex_timeout_requeue_and_bitset() {
    let (mut k, mut plat) = setup();
    let t2 = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone,
        [THREAD_FLAGS, 0x11800, 0x11000, 0x11004, 0, 0],
    )
    .1
    .rax as u32;
    poke(
        &mut k,
        0x11100,
        &selkie_syscalls::types::Timespec {
            tv_sec: 0,
            tv_nsec: 1000,
        }
        .to_bytes(),
    );
    let (o, _) = raw(
        &mut k,
        &mut plat,
        t2,
        g::__NR_futex,
        [0x11200, 128, 0, 0x11100, 0, 0],
    );
    assert_eq!(o, Outcome::Block);
    let _ = k.take_actions();
    while k.next_deadline().is_some_and(|d| plat.now < d) {
        plat.now += 1000;
    }
    k.tick(&mut plat);
    let acts = k.take_actions();
    assert!(acts.iter().any(
        |a| matches!(a, Action::Reply { regs, .. } if regs.rax == Errno::ETIMEDOUT.to_return())
    ));
    // Requeue: a waiter on A moves to B, and a wake on B finds it.
    raw(
        &mut k,
        &mut plat,
        t2,
        g::__NR_futex,
        [0x11200, 0, 0, 0, 0, 0],
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_futex,
            [0x11200, 3, 0, 1, 0x11300, 0]
        ),
        Ok(1)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x11200, 1, 1, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x11300, 1, 1, 0, 0, 0]),
        Ok(1)
    );
    // Bitsets: a waiter on bit 0 is not woken by a wake of bit 1.
    let _ = k.take_actions();
    raw(
        &mut k,
        &mut plat,
        t2,
        g::__NR_futex,
        [0x11200, 9, 0, 0, 0, 1],
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x11200, 10, 1, 0, 0, 2]),
        Ok(0)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x11200, 10, 1, 0, 0, 1]),
        Ok(1)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x11201, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x1, 0, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_futex, [0x8, 0, 0, 0, 0, 0]),
        Err(Errno::EFAULT)
    );
}

#[test]
fn map_shared_memory_stays_shared_across_fork() {
    let (mut k, mut plat) = setup();
    let shared = (g::MAP_SHARED | g::MAP_ANONYMOUS) as u64;
    let rw = (g::PROT_READ | g::PROT_WRITE) as u64;
    let a = call(
        &mut k,
        &mut plat,
        g::__NR_mmap,
        [0, 0x2000, rw, shared, u64::MAX, 0],
    )
    .unwrap();
    poke(&mut k, 0x10000, b"private");
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    {
        let c = k.process(child).unwrap();
        c.vm().copy_out(a + 0x1000, b"from child").unwrap();
        c.vm().copy_out(0x10000, b"CHILD!!").unwrap();
    }
    let mut b = [0u8; 10];
    peek(&mut k, a + 0x1000, &mut b);
    assert_eq!(&b, b"from child", "MAP_SHARED is shared");
    let mut b = [0u8; 7];
    peek(&mut k, 0x10000, &mut b);
    assert_eq!(&b, b"private", "private memory is copied on write");
}

#[test]
fn vdso_is_mapped_with_its_data_page() {
    let mut k = test_kernel(tree());
    // A position-independent one-page image, like the real vDSO.
    let mut img = tiny_elf();
    img[16] = 3; // ET_DYN
    img[24..32].copy_from_slice(&0u64.to_le_bytes()); // entry 0
    img[64 + 16..64 + 24].copy_from_slice(&0u64.to_le_bytes()); // p_vaddr 0
    let mut plat = TestPlatform {
        vdso: Some(Box::leak(img.into_boxed_slice())),
        ..Default::default()
    };
    k.spawn(&mut plat, &[b"prog"], &[]).unwrap();
    let base = crate::kernel::VDSO_BASE;
    let p = k.process(1).unwrap();
    // The data page is the image's last (here only) page.
    let last = base;
    let mut d = [0u8; 24];
    p.vm().copy_in(last, &mut d).unwrap();
    assert_eq!(u64::from_le_bytes(d[0..8].try_into().unwrap()), 2000);
    assert_eq!(u64::from_le_bytes(d[16..24].try_into().unwrap()), 5678);
    // AT_SYSINFO_EHDR (33) is in the auxv.
    let sp = {
        let acts = k.take_actions();
        let [Action::Start { context, .. }] = acts.as_slice() else {
            panic!()
        };
        context[1]
    };
    let p = k.process(1).unwrap();
    let n = (crate::mm::STACK_TOP - sp).min(512) as usize;
    let mut words = alloc::vec![0u8; n];
    p.vm().copy_in(sp, &mut words).unwrap();
    let w: Vec<u64> = words
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let argc = w[0] as usize;
    let auxv = &w[1 + argc + 1 + 1..]; // no envp entries
    let ehdr = auxv.chunks(2).find(|p| p[0] == 33).map(|p| p[1]);
    assert_eq!(ehdr, Some(base));
}

#[test]
fn stop_and_continue_suspend_threads_and_report_to_wait() {
    let (mut k, mut plat) = setup();
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    let _ = k.take_actions();
    // The child waits in a read: stopping it drops the wait (redone later).
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_read,
            [0, 0x10000, 4, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_kill,
            [child as u64, 19, 0, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(k.take_actions(), [Action::Suspend { tid: child }]);
    assert_eq!(
        k.process(child).unwrap().state,
        crate::process::State::Running
    );
    let (_, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_wait4,
        [child as u64, 0x11000, 2, 0, 0, 0],
    );
    assert_eq!(r.rax, child as u64);
    let mut st = [0u8; 4];
    peek(&mut k, 0x11000, &mut st);
    assert_eq!(i32::from_le_bytes(st), 0x7f | (19 << 8));
    // Reported once.
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_wait4,
            [child as u64, 0, 3, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_kill,
            [child as u64, 18, 0, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(k.take_actions(), [Action::Resume { tid: child }]);
    let (_, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_wait4,
        [child as u64, 0x11000, 8, 0, 0, 0],
    );
    assert_eq!(r.rax, child as u64);
    peek(&mut k, 0x11000, &mut st);
    assert_eq!(i32::from_le_bytes(st), 0xffff);
}

#[test]
fn robust_futexes_of_a_dead_thread_get_owner_died() {
    let (mut k, mut plat) = setup();
    let t2 = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone,
        [THREAD_FLAGS, 0x11800, 0x11000, 0x11004, 0, 0],
    )
    .1
    .rax;
    // Thread 2's robust list: head at 0x10000 -> entry 0x10100 -> head;
    // futex_offset 8, so the futex word is at 0x10108, owned by tid 2 with waiters.
    poke(&mut k, 0x10000, &0x10100u64.to_le_bytes());
    poke(&mut k, 0x10008, &8u64.to_le_bytes());
    poke(&mut k, 0x10010, &0u64.to_le_bytes());
    poke(&mut k, 0x10100, &0x10000u64.to_le_bytes());
    poke(&mut k, 0x10108, &(0x8000_0000u32 | t2 as u32).to_le_bytes());
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            t2 as u32,
            g::__NR_set_robust_list,
            [0x10000, 24, 0, 0, 0, 0]
        )
        .1
        .rax,
        0
    );
    // The main thread waits on the futex.
    let word = 0x8000_0000u64 | t2;
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_futex,
            [0x10108, 0, word, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    let _ = k.take_actions();
    raw(&mut k, &mut plat, t2 as u32, g::__NR_exit, [0; 6]);
    let mut w = [0u8; 4];
    peek(&mut k, 0x10108, &mut w);
    assert_eq!(
        u32::from_le_bytes(w),
        0x8000_0000 | 0x4000_0000,
        "WAITERS | OWNER_DIED"
    );
    assert!(k
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Reply { tid: 1, .. })));
}

#[test]
fn clone3_creates_a_thread_on_its_stack() {
    let (mut k, mut plat) = setup();
    let mut args = [0u64; 11];
    args[0] = THREAD_FLAGS & !(g::CLONE_SETTLS as u64);
    args[3] = 0x11000; // parent_tid
    args[5] = 0x11000; // stack base
    args[6] = 0x800; // stack size
    let bytes: Vec<u8> = args.iter().flat_map(|w| w.to_le_bytes()).collect();
    poke(&mut k, 0x10000, &bytes);
    let (o, r) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_clone3,
        [0x10000, 88, 0, 0, 0, 0],
    );
    assert_eq!(o, Outcome::Return);
    let acts = k.take_actions();
    let [Action::Start { tid, context, .. }] = acts.as_slice() else {
        panic!("{acts:?}")
    };
    assert_eq!(*tid as u64, r.rax);
    assert_eq!(context[1], 0x11800, "stack + stack_size");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_clone3, [0x10000, 8, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn pipes_block_readers_and_writers() {
    let (mut k, mut plat) = setup();
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_pipe2, [0x10000, 0, 0, 0, 0, 0]),
        Ok(0)
    );
    let (rd, wr) = (3u64, 4u64);
    // The child shares both ends (fork copies the table).
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    let _ = k.take_actions();
    // An empty pipe blocks the reader; the child's write wakes it.
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_read,
            [rd, 0x10100, 16, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    {
        let c = k.process(child).unwrap();
        c.vm().copy_out(0x10200, b"ping").unwrap();
    }
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_write,
            [wr, 0x10200, 4, 0, 0, 0]
        )
        .1
        .rax,
        4
    );
    let acts = k.take_actions();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Reply { tid: 1, regs } if regs.rax == 4)),
        "{acts:?}"
    );
    let mut b = [0u8; 4];
    peek(&mut k, 0x10100, &mut b);
    assert_eq!(&b, b"ping");
    // A full pipe blocks the writer until the reader makes room.
    let big = (crate::file::PIPE_CAPACITY) as u64;
    let p = k.process(child).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x100000,
            end: 0x100000 + big + 0x1000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_write,
            [wr, 0x100000, big, 0, 0, 0]
        )
        .1
        .rax,
        big
    );
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            child,
            g::__NR_write,
            [wr, 0x100000, 10, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [rd, 0x10100, 16, 0, 0, 0]),
        Ok(16)
    );
    let acts = k.take_actions();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Reply { tid, regs } if *tid == child && regs.rax == 10)),
        "{acts:?}"
    );
}

/// A write that wakes a blocked reader hands it only what it asked for; the
/// rest stays in the pipe (the reader's retry once woke the pipe's waiters,
/// itself included, and drained the pipe into the same buffer).
#[test]
fn woken_reader_takes_only_its_share() {
    let (mut k, mut plat) = setup();
    call(&mut k, &mut plat, g::__NR_pipe2, [0x10000, 0, 0, 0, 0, 0]).unwrap();
    let (rd, wr) = (3u64, 4u64);
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    let _ = k.take_actions();
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_read,
            [rd, 0x10100, 4, 0, 0, 0]
        )
        .0,
        Outcome::Block
    );
    k.process(child)
        .unwrap()
        .vm()
        .copy_out(0x10200, b"0123456789ab")
        .unwrap();
    let w = raw(
        &mut k,
        &mut plat,
        child,
        g::__NR_write,
        [wr, 0x10200, 12, 0, 0, 0],
    );
    assert_eq!(w.1.rax, 12);
    let acts = k.take_actions();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Reply { tid: 1, regs } if regs.rax == 4)),
        "{acts:?}"
    );
    let mut b = [0u8; 4];
    peek(&mut k, 0x10100, &mut b);
    assert_eq!(&b, b"0123");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [rd, 0x10100, 16, 0, 0, 0]),
        Ok(8)
    );
    let mut b = [0u8; 8];
    peek(&mut k, 0x10100, &mut b);
    assert_eq!(&b, b"456789ab");
}

#[test]
fn pipe_eof_epipe_dup_and_cloexec() {
    let (mut k, mut plat) = setup();
    call(
        &mut k,
        &mut plat,
        g::__NR_pipe2,
        [0x10000, g::O_CLOEXEC as u64, 0, 0, 0, 0],
    )
    .unwrap();
    let (rd, wr) = (3u64, 4u64);
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_fcntl,
            [rd, g::F_GETFD as u64, 0, 0, 0, 0]
        ),
        Ok(1)
    );
    poke(&mut k, 0x10200, b"data");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_write, [wr, 0x10200, 4, 0, 0, 0]),
        Ok(4)
    );
    // dup shares the description; closing one end leaves the other.
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_dup, [wr, 0, 0, 0, 0, 0]),
        Ok(5)
    );
    call(&mut k, &mut plat, g::__NR_close, [wr, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [rd, 0x10300, 2, 0, 0, 0]),
        Ok(2)
    );
    call(&mut k, &mut plat, g::__NR_close, [5, 0, 0, 0, 0, 0]).unwrap();
    // No writers left: the rest, then EOF.
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [rd, 0x10300, 16, 0, 0, 0]),
        Ok(2)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [rd, 0x10300, 16, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_close, [9, 0, 0, 0, 0, 0]),
        Err(Errno::EBADF)
    );
    // A pipe without readers: EPIPE, and SIGPIPE kills by default.
    call(&mut k, &mut plat, g::__NR_pipe, [0x10000, 0, 0, 0, 0, 0]).unwrap();
    let mut fds = [0u8; 8];
    peek(&mut k, 0x10000, &mut fds);
    let (r2, w2) = (fds[0] as u64, fds[4] as u64);
    call(&mut k, &mut plat, g::__NR_close, [r2, 0, 0, 0, 0, 0]).unwrap();
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_write,
        [w2, 0x10200, 1, 0, 0, 0],
    );
    assert_eq!(o, Outcome::NoReply);
    assert_eq!(k.exit_status(1), Some(ExitStatus::Signaled(13)));
}

/// A kernel over `tree()` running /bin/prog as pid 1, with two scratch
/// pages at 0x10000.
fn spawned_prog() -> (Kernel, TestPlatform) {
    let mut k = test_kernel(tree());
    let mut plat = TestPlatform::default();
    k.spawn(&mut plat, &[b"prog"], &[]).unwrap();
    k.process(1)
        .unwrap()
        .vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x12000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    (k, plat)
}

#[test]
fn files_in_the_tmpfs() {
    let (mut k, mut plat) = spawned_prog();
    let p = k.process(1).unwrap();
    p.vm().copy_out(0x10000, b"/tmp/new\0hello").unwrap();
    let flags = (g::O_CREAT | g::O_RDWR) as u64;
    let fd = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_open,
        [0x10000, flags, 0o644, 0, 0, 0],
    )
    .1
    .rax;
    assert_eq!(fd, 3);
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_write,
            [fd, 0x10009, 5, 0, 0, 0]
        )
        .1
        .rax,
        5
    );
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_lseek, [fd, 0, 0, 0, 0, 0])
            .1
            .rax,
        0
    );
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_read,
            [fd, 0x10100, 64, 0, 0, 0]
        )
        .1
        .rax,
        5
    );
    let mut b = [0u8; 5];
    k.process(1).unwrap().vm().copy_in(0x10100, &mut b).unwrap();
    assert_eq!(&b, b"hello");
    // getdents64 of /tmp lists ".", "..", "new".
    k.process(1)
        .unwrap()
        .vm()
        .copy_out(0x10200, b"/tmp\0")
        .unwrap();
    let d = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_open,
        [0x10200, g::O_DIRECTORY as u64, 0, 0, 0, 0],
    )
    .1
    .rax;
    let n = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_getdents64,
        [d, 0x10400, 512, 0, 0, 0],
    )
    .1
    .rax;
    let mut buf = alloc::vec![0u8; n as usize];
    k.process(1)
        .unwrap()
        .vm()
        .copy_in(0x10400, &mut buf)
        .unwrap();
    let mut names = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        let name: Vec<u8> = buf[off + 19..]
            .iter()
            .take_while(|&&c| c != 0)
            .copied()
            .collect();
        names.push(alloc::string::String::from_utf8(name).unwrap());
        off += reclen;
    }
    assert_eq!(names, [".", "..", "new"]);
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_getdents64,
            [d, 0x10400, 512, 0, 0, 0]
        )
        .1
        .rax,
        0
    );
    // unlink while open: still readable through the descriptor.
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_unlink,
            [0x10000, 0, 0, 0, 0, 0]
        )
        .1
        .rax,
        0
    );
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            1,
            g::__NR_pread64,
            [fd, 0x10100, 5, 0, 0, 0]
        )
        .1
        .rax,
        5
    );
    assert_eq!(
        raw(&mut k, &mut plat, 1, g::__NR_open, [0x10000, 0, 0, 0, 0, 0])
            .1
            .rax,
        Errno::ENOENT.to_return()
    );
}

#[test]
fn procfs_describes_processes() {
    let mut k = test_kernel(tree());
    let mut plat = TestPlatform::default();
    k.spawn(&mut plat, &[b"prog", b"arg"], &[b"A=1"]).unwrap();
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x10000,
            end: 0x12000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    p.vm()
        .copy_out(
            0x10000,
            b"/proc/self/cmdline\0/proc/1/stat\0/proc/self/exe\0/proc\0",
        )
        .unwrap();
    let fd = raw(&mut k, &mut plat, 1, g::__NR_open, [0x10000, 0, 0, 0, 0, 0])
        .1
        .rax;
    let n = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_read,
        [fd, 0x11000, 64, 0, 0, 0],
    )
    .1
    .rax;
    let mut b = alloc::vec![0u8; n as usize];
    k.process(1).unwrap().vm().copy_in(0x11000, &mut b).unwrap();
    assert_eq!(b, b"prog\0arg\0");
    let fd = raw(&mut k, &mut plat, 1, g::__NR_open, [0x10013, 0, 0, 0, 0, 0])
        .1
        .rax;
    let n = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_read,
        [fd, 0x11000, 256, 0, 0, 0],
    )
    .1
    .rax;
    let mut b = alloc::vec![0u8; n as usize];
    k.process(1).unwrap().vm().copy_in(0x11000, &mut b).unwrap();
    assert!(
        b.starts_with(b"1 (prog) "),
        "{}",
        alloc::string::String::from_utf8_lossy(&b)
    );
    let n = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_readlink,
        [0x10020, 0x11000, 64, 0, 0, 0],
    )
    .1
    .rax;
    let mut b = alloc::vec![0u8; n as usize];
    k.process(1).unwrap().vm().copy_in(0x11000, &mut b).unwrap();
    assert_eq!(b, b"/bin/prog");
    // Writing to /proc is refused.
    let w = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_open,
        [0x10013, g::O_WRONLY as u64, 0, 0, 0, 0],
    )
    .1
    .rax;
    assert_eq!(w, Errno::EACCES.to_return());
    // /proc lists the process.
    let d = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_open,
        [0x1002f, g::O_DIRECTORY as u64, 0, 0, 0, 0],
    )
    .1
    .rax;
    let n = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_getdents64,
        [d, 0x11000, 2048, 0, 0, 0],
    )
    .1
    .rax;
    let mut b = alloc::vec![0u8; n as usize];
    k.process(1).unwrap().vm().copy_in(0x11000, &mut b).unwrap();
    assert!(
        b.windows(3).any(|w| w == b"\x041\0"),
        "a directory entry \"1\""
    );
}

#[test]
fn select_on_a_pipe() {
    let (mut k, mut plat) = setup();
    call(&mut k, &mut plat, g::__NR_pipe, [0x10000, 0, 0, 0, 0, 0]).unwrap();
    // readfds = {3}, writefds = {4}; a zero timeout polls.
    poke(&mut k, 0x10100, &(1u64 << 3).to_le_bytes());
    poke(&mut k, 0x10108, &(1u64 << 4).to_le_bytes());
    poke(&mut k, 0x10200, &[0u8; 16]);
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_select,
            [5, 0x10100, 0x10108, 0, 0x10200, 0]
        ),
        Ok(1)
    );
    let mut w = [0u8; 8];
    peek(&mut k, 0x10100, &mut w);
    assert_eq!(u64::from_le_bytes(w), 0, "nothing to read yet");
    peek(&mut k, 0x10108, &mut w);
    assert_eq!(u64::from_le_bytes(w), 1 << 4, "room to write");
    // Without a timeout, select on the empty read end waits; a write ends it.
    poke(&mut k, 0x10100, &(1u64 << 3).to_le_bytes());
    let (o, _) = raw(
        &mut k,
        &mut plat,
        1,
        g::__NR_select,
        [4, 0x10100, 0, 0, 0, 0],
    );
    assert_eq!(o, Outcome::Block);
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]);
    let _ = child;
    // (the caller is blocked; write through a forked copy of the table)
    let t = k.procs.keys().copied().max().unwrap();
    {
        let c = k.process(t).unwrap();
        c.vm().copy_out(0x10300, b"x").unwrap();
    }
    assert_eq!(
        raw(
            &mut k,
            &mut plat,
            t,
            g::__NR_write,
            [4, 0x10300, 1, 0, 0, 0]
        )
        .1
        .rax,
        1
    );
    let acts = k.take_actions();
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Reply { tid: 1, regs } if regs.rax == 1)),
        "{acts:?}"
    );
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_select,
            [4, 0x10100, 0, 0, 0x1, 0]
        ),
        Err(Errno::EFAULT)
    );
}

#[test]
fn syscall_table_doc() {
    // docs/syscalls.md is generated from TABLE; regenerate with SELKIE_BLESS=1.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/syscalls.md");
    let want = super::render_markdown();
    if std::env::var_os("SELKIE_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(have == want, "docs/syscalls.md is stale: run `make docs`");
}

#[test]
fn reboot_checks_magic_and_ends_the_machine() {
    use crate::kernel::Shutdown;
    let (mut k, mut plat) = setup();
    let (m1, m2) = (g::LINUX_REBOOT_MAGIC1 as u64, g::LINUX_REBOOT_MAGIC2 as u64);
    let off = g::LINUX_REBOOT_CMD_POWER_OFF as u64;
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_reboot, [1, m2, off, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_reboot, [m1, 7, off, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_reboot, [m1, m2, 0x1234, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    // Ctrl-Alt-Del settings (busybox init sets them) change nothing.
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_reboot, [m1, m2, 0, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(k.shutdown, None);
    let restart = g::LINUX_REBOOT_CMD_RESTART as u64;
    let m2c = g::LINUX_REBOOT_MAGIC2C as u64;
    call(
        &mut k,
        &mut plat,
        g::__NR_reboot,
        [m1, m2c, restart, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(k.shutdown, Some(Shutdown::Restart));
    call(&mut k, &mut plat, g::__NR_reboot, [m1, m2, off, 0, 0, 0]).unwrap();
    assert_eq!(k.shutdown, Some(Shutdown::PowerOff));
}

/// A signal for a thread running in user mode asks the platform to stop it;
/// with its registers the LibOS sets up the handler's frame, and the
/// handler returns to the interrupted instruction.
#[test]
fn signal_to_a_running_thread_interrupts_it() {
    use crate::kernel::{context_regs, Interrupted};
    let (mut k, mut plat) = setup();
    let p = k.process(1).unwrap();
    p.vm()
        .mm
        .insert(Area {
            start: 0x20000,
            end: 0x30000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    install(&mut k, 1, 10, 0x401234, 0);
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax as u32;
    let _ = k.take_actions();
    // The child signals its parent, which runs (it was answered).
    let (o, _) = raw(&mut k, &mut plat, child, g::__NR_kill, [1, 10, 0, 0, 0, 0]);
    assert_eq!(o, Outcome::Return);
    let acts = k.take_actions();
    assert!(acts.contains(&Action::Interrupt { tid: 1 }), "{acts:?}");
    // Stopped at 0x5555 in the middle of a loop.
    let mut ctx = [0u64; 19];
    ctx[0] = 0x5555; // rip
    ctx[1] = 0x2f000; // rsp
    ctx[3] = 42; // rax
    let Interrupted::Restart(h) = k.interrupted(&mut plat, 1, &ctx) else {
        panic!("no handler frame")
    };
    let (r, _) = context_regs(&h);
    assert_eq!(r.fault_ip, 0x401234);
    assert_eq!(r.rdi, 10);
    // Nothing more to deliver: a second stop just resumes the thread.
    assert_eq!(k.interrupted(&mut plat, 1, &ctx), Interrupted::Resume);
    // rt_sigreturn goes back to the loop with every register as it was.
    let mut sr = SyscallRegs {
        rax: g::__NR_rt_sigreturn as u64,
        sp: r.sp + 8,
        fault_ip: 0x401100,
        ..Default::default()
    };
    assert_eq!(k.syscall(&mut plat, 1, &mut sr), Outcome::Return);
    assert_eq!(sr.fault_ip, 0x5555);
    assert_eq!(sr.sp, 0x2f000);
    assert_eq!(sr.rax, 42);
}

#[test]
fn sched_getaffinity_of_another_process() {
    let (mut k, mut plat) = setup();
    let child = raw(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]).1.rax;
    let nr = g::__NR_sched_getaffinity;
    assert_eq!(
        call(&mut k, &mut plat, nr, [child, 8, 0x10000, 0, 0, 0]),
        Ok(8)
    );
    let mut b = [0u8; 8];
    peek(&mut k, 0x10000, &mut b);
    assert_eq!(u64::from_le_bytes(b), 1);
    assert_eq!(call(&mut k, &mut plat, nr, [0, 8, 0x10000, 0, 0, 0]), Ok(8));
    assert_eq!(
        call(&mut k, &mut plat, nr, [999, 8, 0x10000, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    assert_eq!(
        call(&mut k, &mut plat, nr, [1 << 40, 8, 0x10000, 0, 0, 0]),
        Err(Errno::ESRCH)
    );
    assert_eq!(
        call(&mut k, &mut plat, nr, [0, 4, 0x10000, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
}

/// A device node in the root archive (a host's /dev/null copied into
/// rootfs/) does not become a plain file: /dev/null stays the device.
#[test]
fn device_nodes_in_the_archive_stay_devices() {
    let mut files = tree();
    files.push(Entry {
        name: b"dev/null",
        mode: 0o020666,
        mtime: 0,
        data: b"",
    });
    let k = test_kernel(files);
    let root = k.fs.root();
    let ino = k.fs.resolve(root, b"/dev/null", true).unwrap();
    assert_eq!(
        k.fs.stat(ino).unwrap().kind,
        selkie_fs::Kind::CharDev(0x103)
    );
}

/// Runs a syscall of `pid` that must return at once; its result.
fn ret(k: &mut Kernel, plat: &mut TestPlatform, pid: u32, nr: u32, args: [u64; 6]) -> u64 {
    let (o, r) = raw(k, plat, pid, nr, args);
    assert_eq!(o, Outcome::Return, "syscall {nr}");
    r.rax
}

#[test]
fn shared_file_mappings_meet_the_file_and_each_other() {
    let (mut k, mut plat) = spawned_prog();
    let p = k.process(1).unwrap();
    p.vm().copy_out(0x10000, b"/tmp/m\0hello").unwrap();
    let rdwr = (g::O_CREAT | g::O_RDWR) as u64;
    let fd = ret(
        &mut k,
        &mut plat,
        1,
        g::__NR_open,
        [0x10000, rdwr, 0o644, 0, 0, 0],
    );
    assert_eq!(
        ret(
            &mut k,
            &mut plat,
            1,
            g::__NR_write,
            [fd, 0x10007, 5, 0, 0, 0]
        ),
        5
    );
    assert_eq!(
        ret(
            &mut k,
            &mut plat,
            1,
            g::__NR_ftruncate,
            [fd, 0x1800, 0, 0, 0, 0]
        ),
        0
    );
    let rw = (g::PROT_READ | g::PROT_WRITE) as u64;
    let shared = g::MAP_SHARED as u64;
    let a = ret(
        &mut k,
        &mut plat,
        1,
        g::__NR_mmap,
        [0, 0x3000, rw, shared, fd, 0],
    );
    assert!(Errno::from_return(a).is_none());
    let mut b = [0u8; 5];
    peek(&mut k, a, &mut b);
    assert_eq!(&b, b"hello");

    // A store through the mapping is what read(2) sees, and write(2) shows
    // in the mapping.
    poke(&mut k, a + 1, b"EL");
    let pread = g::__NR_pread64;
    assert_eq!(
        ret(&mut k, &mut plat, 1, pread, [fd, 0x11000, 5, 0, 0, 0]),
        5
    );
    peek(&mut k, 0x11000, &mut b);
    assert_eq!(&b, b"hELlo");
    poke(&mut k, 0x11000, b"XY");
    let pwrite = g::__NR_pwrite64;
    assert_eq!(
        ret(&mut k, &mut plat, 1, pwrite, [fd, 0x11000, 2, 0x1000, 0, 0]),
        2
    );
    let mut xy = [0u8; 2];
    peek(&mut k, a + 0x1000, &mut xy);
    assert_eq!(&xy, b"XY");

    // A second mapping, in a child, of the second page only: the same page.
    let child = ret(&mut k, &mut plat, 1, g::__NR_fork, [0; 6]) as u32;
    let c = ret(
        &mut k,
        &mut plat,
        child,
        g::__NR_mmap,
        [0, 0x1000, rw, shared, fd, 0x1000],
    );
    k.process(child).unwrap().vm().copy_out(c, b"ZZ").unwrap();
    peek(&mut k, a + 0x1000, &mut xy);
    assert_eq!(
        &xy, b"ZZ",
        "the child's store shows in the parent's mapping"
    );
    let Ok(crate::procfs::Node::File(maps)) =
        crate::procfs::lookup(&k, &mut plat, child, b"/proc/self/maps")
    else {
        panic!("no maps")
    };
    let maps = alloc::string::String::from_utf8(maps).unwrap();
    let line = maps
        .lines()
        .find(|l| l.starts_with(&alloc::format!("{c:08x}")))
        .unwrap();
    assert!(
        line.contains(" rw-s 00001000 ") && line.ends_with(" /tmp/m"),
        "{line}"
    );

    // A shared futex in the shared page meets across the two processes; a
    // private one does not.
    let futex = g::__NR_futex;
    let (o, _) = raw(&mut k, &mut plat, child, futex, [a + 0x10, 0, 0, 0, 0, 0]);
    assert_eq!(o, Outcome::Block);
    assert_eq!(
        ret(&mut k, &mut plat, 1, futex, [a + 0x10, 128 | 1, 1, 0, 0, 0]),
        0
    );
    assert_eq!(
        ret(&mut k, &mut plat, 1, futex, [a + 0x10, 1, 1, 0, 0, 0]),
        1
    );

    // The third page lies past the end of the file: SIGBUS, until the file
    // grows.
    install(&mut k, 1, crate::signal::SIGBUS, 0x401234, 0);
    let f = k.page_fault(&mut plat, 1, a + 0x2000, 0x401000, false, false);
    assert_eq!(f, crate::kernel::FaultOutcome::Signal);
    assert_eq!(
        k.process(1).unwrap().fault_info.unwrap().signo,
        crate::signal::SIGBUS
    );
    k.process(1).unwrap().fault_info = None;
    assert_eq!(
        ret(
            &mut k,
            &mut plat,
            1,
            g::__NR_ftruncate,
            [fd, 0x2800, 0, 0, 0, 0]
        ),
        0
    );
    let f = k.page_fault(&mut plat, 1, a + 0x2000, 0x401000, true, false);
    assert_eq!(f, crate::kernel::FaultOutcome::Resume);
    poke(&mut k, a + 0x2000, b"end");

    // Unmapped everywhere, the file leaves the cache with every store kept.
    assert_eq!(
        ret(
            &mut k,
            &mut plat,
            1,
            g::__NR_munmap,
            [a, 0x3000, 0, 0, 0, 0]
        ),
        0
    );
    assert!(!k.cache.is_empty(), "the child still maps a page");
    k.exit_process(&mut plat, child, ExitStatus::Exited(0));
    assert!(k.cache.is_empty());
    let m = k.fs.resolve(k.fs.root(), b"/tmp/m", true).unwrap();
    let data = k.fs.data(m).unwrap();
    assert_eq!(data.len(), 0x2800);
    assert_eq!(&data[..5], b"hELlo");
    assert_eq!(&data[0x1000..0x1002], b"ZZ");
    assert_eq!(&data[0x2000..0x2003], b"end");

    // Writable shared mappings need a descriptor open for writing.
    poke(&mut k, 0x10000, b"/tmp/m\0");
    let ro = ret(&mut k, &mut plat, 1, g::__NR_open, [0x10000, 0, 0, 0, 0, 0]);
    let r = ret(
        &mut k,
        &mut plat,
        1,
        g::__NR_mmap,
        [0, 0x1000, rw, shared, ro, 0],
    );
    assert_eq!(Errno::from_return(r), Some(Errno::EACCES));
    let r = ret(
        &mut k,
        &mut plat,
        1,
        g::__NR_mmap,
        [0, 0x1000, 1, shared, ro, 0],
    );
    assert!(Errno::from_return(r).is_none());
    // A pool with no page left: ENOMEM, nothing mapped.
    plat.page_limit = Some(0);
    let r = ret(
        &mut k,
        &mut plat,
        1,
        g::__NR_mmap,
        [0, 0x1000, 1, shared, ro, 0x1000],
    );
    assert_eq!(Errno::from_return(r), Some(Errno::ENOMEM));
}

/// tiny_elf with a PT_INTERP naming `interp`.
fn dynamic_elf(interp: &str) -> Vec<u8> {
    let mut b = tiny_elf();
    b[56] = 2;
    let ph = 64 + 56;
    b[ph] = 3; // PT_INTERP
    b[ph + 4] = 4;
    b[ph + 8..ph + 16].copy_from_slice(&0x800u64.to_le_bytes());
    let n = interp.len() as u64 + 1;
    b[ph + 32..ph + 40].copy_from_slice(&n.to_le_bytes());
    b[ph + 40..ph + 48].copy_from_slice(&n.to_le_bytes());
    b[0x800..0x800 + interp.len()].copy_from_slice(interp.as_bytes());
    b
}

#[test]
fn dynamically_linked_programs_start_in_their_interpreter() {
    let leak = |v: Vec<u8>| -> &'static [u8] { Box::leak(v.into_boxed_slice()) };
    // The interpreter: tiny_elf as ET_DYN with its entry at 0x1000.
    let mut ld = tiny_elf();
    ld[16] = 3;
    ld[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
    ld[64 + 16..64 + 24].copy_from_slice(&0x1000u64.to_le_bytes());
    let mut t = tree();
    for (name, data) in [
        ("lib/ld.so", leak(ld)),
        ("bin/dyn", leak(dynamic_elf("/lib/ld.so"))),
        ("bin/noloader", leak(dynamic_elf("/lib/missing.so"))),
        ("bin/badloader", leak(dynamic_elf("/etc/passwd"))),
    ] {
        t.push(Entry {
            name: name.as_bytes(),
            mode: 0o100755,
            mtime: 0,
            data,
        });
    }
    let mut k = test_kernel(t);
    let mut plat = TestPlatform::default();
    let pid = k.spawn(&mut plat, &[b"/bin/dyn"], &[]).unwrap();
    let acts = k.take_actions();
    let [Action::Start { context, .. }] = acts.as_slice() else {
        panic!("{acts:?}");
    };
    let base = crate::kernel::INTERP_BASE;
    assert_eq!(context[0], base + 0x1000, "starts in the interpreter");
    // The auxiliary vector names the interpreter's base and the program's
    // entry and headers.
    let p = k.process(pid).unwrap();
    let mut w = [0u8; 8];
    let mut at = context[1] + 8 + 16 + 8; // argc, argv[0], NULL, envp NULL
    let mut aux = alloc::collections::BTreeMap::new();
    loop {
        p.vm().copy_in(at, &mut w).unwrap();
        let key = u64::from_le_bytes(w);
        p.vm().copy_in(at + 8, &mut w).unwrap();
        if key == 0 {
            break;
        }
        aux.insert(key, u64::from_le_bytes(w));
        at += 16;
    }
    assert_eq!(aux[&7], base, "AT_BASE");
    assert_eq!(aux[&9], 0x401000, "AT_ENTRY");
    assert_eq!(aux[&5], 2, "AT_PHNUM: the program's headers");
    // Both images are mapped: the interpreter's code is readable there.
    let mut code = [0u8; 4];
    p.vm().copy_in(base + 0x1000, &mut code).unwrap();
    assert_eq!(code, [0x90; 4]);
    let e = k.spawn(&mut plat, &[b"/bin/noloader"], &[]).unwrap_err();
    assert_eq!(e.errno(), Errno::ENOENT, "a missing interpreter");
    let e = k.spawn(&mut plat, &[b"/bin/badloader"], &[]).unwrap_err();
    assert_eq!(
        e.errno(),
        Errno::ELIBBAD,
        "an interpreter that is not an ELF"
    );
}

#[test]
fn xattrs_are_stored_and_fadvise_is_advice() {
    let (mut k, mut plat) = setup();
    poke(&mut k, 0x10000, b"/\0user.x\0/nope\0");
    poke(&mut k, 0x11000, b"0123456789abcdef");
    let (path, name, missing) = (0x10000, 0x10002, 0x10009);
    let x = |k: &mut Kernel, plat: &mut TestPlatform, nr: u32, a: [u64; 6]| call(k, plat, nr, a);
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_getxattr,
            [path, name, 0x11100, 16, 0, 0]
        ),
        Err(Errno::ENODATA)
    );
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_setxattr,
            [path, name, 0x11000, 16, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_lgetxattr,
            [path, name, 0x11100, 16, 0, 0]
        ),
        Ok(16)
    );
    let mut b = [0u8; 16];
    peek(&mut k, 0x11100, &mut b);
    assert_eq!(&b, b"0123456789abcdef");
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_getxattr,
            [path, name, 0x11100, 4, 0, 0]
        ),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_listxattr,
            [path, 0x11100, 64, 0, 0, 0]
        ),
        Ok(7)
    );
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_removexattr,
            [path, name, 0, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(
        x(
            &mut k,
            &mut plat,
            g::__NR_removexattr,
            [path, name, 0, 0, 0, 0]
        ),
        Err(Errno::ENODATA)
    );
    for nr in [
        g::__NR_getxattr,
        g::__NR_lgetxattr,
        g::__NR_setxattr,
        g::__NR_removexattr,
    ] {
        assert_eq!(
            call(&mut k, &mut plat, nr, [missing, name, 0x11000, 16, 0, 0]),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            call(&mut k, &mut plat, nr, [path, 8, 0x11000, 16, 0, 0]),
            Err(Errno::EFAULT)
        );
    }
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_fgetxattr,
            [99, name, 0x11000, 16, 0, 0]
        ),
        Err(Errno::EBADF)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_fadvise64, [1, 0, 100, 4, 0, 0]),
        Ok(0)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_fadvise64, [1, 0, 100, 9, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_fadvise64, [99, 0, 100, 4, 0, 0]),
        Err(Errno::EBADF)
    );
}

#[test]
fn fatal_faults_are_reported_with_the_mapping() {
    let (mut k, mut plat) = setup();
    let f = k.page_fault(&mut plat, 1, 0x10008, 0x10010, true, false);
    assert_eq!(
        f,
        crate::kernel::FaultOutcome::Resume,
        "a writable page maps"
    );
    k.process(1)
        .unwrap()
        .vm()
        .protect_range(0x10000, 0x11000, Perms { write: false, ..RW })
        .unwrap();
    let f = k.page_fault(&mut plat, 1, 0x10008, 0x99000, true, false);
    assert_eq!(f, crate::kernel::FaultOutcome::Killed);
    let line = plat.log.iter().find(|l| l.contains("killed by")).unwrap();
    assert_eq!(
        line,
        "pid 1 (test) killed by SIGSEGV: address 0x10008 (in 0x10000-0x11000 r-- anonymous), ip 0x99000 (not mapped)"
    );
}

#[test]
fn huge_mostly_empty_mappings_are_cheap() {
    // libc-test's t_vmfill maps the whole address space PROT_NONE and
    // unmaps it again: work must follow the mapped pages, not the range.
    let (mut k, mut plat) = setup();
    let anon = (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as u64;
    let len = 1u64 << 45;
    let a = call(
        &mut k,
        &mut plat,
        g::__NR_mmap,
        [0, len, 0, anon, u64::MAX, 0],
    )
    .unwrap();
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_mprotect, [a, len, 3, 0, 0, 0]),
        Ok(0)
    );
    poke(&mut k, a + len - 8, b"touched!");
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_madvise, [a, len, 4, 0, 0, 0]),
        Ok(0)
    );
    let b = call(
        &mut k,
        &mut plat,
        g::__NR_mremap,
        [a, len, len + 4096, 1, 0, 0],
    )
    .unwrap();
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_munmap,
            [b, len + 4096, 0, 0, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(k.process(1).unwrap().vm().mm.mapped_pages, 0);
}

#[test]
fn a_range_found_free_is_found_again() {
    // libc-test's t_vmfill: probe the largest mapping that fits (mapping and
    // unmapping it), then map it; until the address space is full.
    let (mut k, mut plat) = setup();
    let anon = (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as u64;
    let mut start: u64 = (u64::MAX / 2) + 1;
    let mut maps = 0;
    loop {
        let (mut i, mut n) = (start, start);
        while i >= 4096 {
            match call(
                &mut k,
                &mut plat,
                g::__NR_mmap,
                [0, n, 0, anon, u64::MAX, 0],
            ) {
                Err(_) => n -= i / 2,
                Ok(p) => {
                    call(&mut k, &mut plat, g::__NR_munmap, [p, n, 0, 0, 0, 0]).unwrap();
                    if n == i {
                        start = n;
                    }
                    n += i / 2;
                }
            }
            i /= 2;
        }
        let m = n & !4095;
        if m == 0 {
            break;
        }
        let r = call(
            &mut k,
            &mut plat,
            g::__NR_mmap,
            [0, m, 0, anon, u64::MAX, 0],
        );
        assert!(
            r.is_ok(),
            "mapping {maps}: {m:#x} fit in the probe, then {r:?}"
        );
        maps += 1;
    }
    assert!(maps >= 1);
    let r = call(
        &mut k,
        &mut plat,
        g::__NR_mmap,
        [0, 4096, 0, anon, u64::MAX, 0],
    );
    assert_eq!(r, Err(Errno::ENOMEM), "full");
}

/// Real-time signals queue (each instance delivered once, with its own
/// si_value, in order); standard ones merge. rt_sigqueueinfo refuses a
/// kernel si_code towards another process and a full queue.
#[test]
fn realtime_signals_queue_and_standard_ones_merge() {
    let (mut k, mut plat) = setup();
    let rt = 34u64; // SIGRTMIN + 2
    k.process(1).unwrap().signals.mask = (1 << (rt - 1)) | (1 << 9);
    install(&mut k, 1, rt as u32, 0x401234, 0);
    install(&mut k, 1, 10, 0x401234, 0);
    let queue = |k: &mut Kernel, plat: &mut TestPlatform, value: u64| {
        let mut si = [0u8; 128];
        si[8..12].copy_from_slice(&(-1i32).to_le_bytes()); // SI_QUEUE
        si[24..32].copy_from_slice(&value.to_le_bytes());
        poke(k, 0x11000, &si);
        raw(
            k,
            plat,
            1,
            g::__NR_rt_sigqueueinfo,
            [1, rt, 0x11000, 0, 0, 0],
        )
        .1
        .rax
    };
    for v in [7, 8, 9] {
        assert_eq!(queue(&mut k, &mut plat, v), 0);
    }
    for _ in 0..2 {
        assert_eq!(
            call(&mut k, &mut plat, g::__NR_kill, [1, 10, 0, 0, 0, 0]),
            Ok(0)
        );
    }
    // rt_sigtimedwait with a zero timeout takes them one by one.
    poke(
        &mut k,
        0x10000,
        &((1u64 << (rt - 1)) | (1 << 9)).to_le_bytes(),
    );
    poke(&mut k, 0x10200, &[0u8; 16]);
    let mut got = Vec::new();
    loop {
        let r = call(
            &mut k,
            &mut plat,
            g::__NR_rt_sigtimedwait,
            [0x10000, 0x10100, 0x10200, 8, 0, 0],
        );
        let Ok(r) = r else {
            assert_eq!(r, Err(Errno::EAGAIN));
            break;
        };
        let mut si = [0u8; 128];
        peek(&mut k, 0x10100, &mut si);
        got.push((r, u64::from_le_bytes(si[24..32].try_into().unwrap())));
    }
    assert_eq!(got, [(10, 0), (rt, 7), (rt, 8), (rt, 9)]);
    // A code of the kernel's own (SI_USER = 0) is for the caller's own process only.
    let mut si = [0u8; 128];
    si[8..12].copy_from_slice(&0i32.to_le_bytes());
    poke(&mut k, 0x11000, &si);
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_rt_sigqueueinfo,
            [99, rt, 0x11000, 0, 0, 0]
        ),
        Err(Errno::EPERM)
    );
    // RLIMIT_SIGPENDING bounds the queue: EAGAIN beyond it.
    k.process(1).unwrap().rlimits[g::RLIMIT_SIGPENDING as usize].cur = 3;
    let sent: Vec<u64> = (0..4).map(|v| queue(&mut k, &mut plat, v)).collect();
    assert_eq!(sent, [0, 0, 0, Errno::EAGAIN.to_return()]);
    // Ignoring a signal drops what is pending of it.
    let ign = crate::signal::SigAction {
        handler: crate::signal::SIG_IGN,
        ..Default::default()
    };
    poke(&mut k, 0x11100, &ign.to_bytes());
    assert_eq!(
        call(
            &mut k,
            &mut plat,
            g::__NR_rt_sigaction,
            [rt, 0x11100, 0, 8, 0, 0]
        ),
        Ok(0)
    );
    assert_eq!(k.process(1).unwrap().signals.pending, 0);
}

/// TRACE=1 lines: decoded paths, flags, buffers, results by errno name,
/// signals delivered and the exit.
#[test]
fn trace_decodes_arguments_signals_and_exit() {
    let (mut k, mut plat) = setup();
    handler_and_stack(&mut k);
    k.trace = true;
    poke(&mut k, 0x10000, b"/etc/nothing\0");
    let _ = call(
        &mut k,
        &mut plat,
        g::__NR_openat,
        [
            -100i64 as u64,
            0x10000,
            (g::O_RDONLY | g::O_CLOEXEC) as u64,
            0,
            0,
            0,
        ],
    );
    poke(&mut k, 0x10100, b"hi\n");
    let _ = call(&mut k, &mut plat, g::__NR_write, [1, 0x10100, 3, 0, 0, 0]);
    let _ = call(
        &mut k,
        &mut plat,
        g::__NR_mmap,
        [
            0,
            8192,
            3,
            (g::MAP_PRIVATE | g::MAP_ANONYMOUS) as u64,
            -1i64 as u64,
            0,
        ],
    );
    let mut r = SyscallRegs {
        rax: g::__NR_kill as u64,
        rdi: 1,
        rsi: 10,
        fault_ip: 0x1000,
        sp: 0x2f000,
        ..Default::default()
    };
    k.syscall(&mut plat, 1, &mut r);
    raw(&mut k, &mut plat, 1, g::__NR_exit_group, [3, 0, 0, 0, 0, 0]);
    let log = plat.log.join("\n");
    for want in [
        "[1] openat(AT_FDCWD, \"/etc/nothing\", O_RDONLY|O_CLOEXEC, 0o0) = -1 ENOENT (No such file or directory)",
        "[1] write(1, \"hi\\n\", 3) = 3",
        "[1] mmap(0x0, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = 0x",
        "[1] --- SIGUSR1 {si_code=SI_USER, si_pid=1} ---",
        "[1] kill(1, SIGUSR1) = 0",
        "[1] +++ exited with 3 +++",
    ] {
        assert!(log.contains(want), "missing {want:?} in\n{log}");
    }
}

/// Out of memory in one process's page fault: the process holding the most
/// pages is killed (not the top-level one) and the fault is retried; the
/// faulting process is killed only when it is the biggest itself.
#[test]
fn out_of_memory_kills_the_biggest_process() {
    let mut k = test_kernel(Vec::new());
    k.alloc_pid();
    let mut plat = TestPlatform::default();
    let pool = alloc::rc::Rc::new(core::cell::Cell::new(40));
    let space = MemSpace {
        pool: Some(pool.clone()),
        ..Default::default()
    };
    let p = Process::new(1, 0, Box::new(space), "/t".into());
    p.vm()
        .mm
        .insert(Area {
            start: 0x100000,
            end: 0x200000,
            perms: RW,
            kind: AreaKind::Anon,
        })
        .unwrap();
    k.procs.insert(1, p);
    // Two children by fork; the first takes 30 pages, the second 9.
    let fork = |k: &mut Kernel, plat: &mut TestPlatform| {
        let (o, r) = raw(k, plat, 1, g::__NR_fork, [0; 6]);
        assert_eq!(o, Outcome::Return);
        r.rax as u32
    };
    let (big, small) = (fork(&mut k, &mut plat), fork(&mut k, &mut plat));
    for i in 0..30 {
        assert_eq!(
            k.page_fault(&mut plat, big, 0x100000 + i * 4096, 0, true, false),
            crate::kernel::FaultOutcome::Resume
        );
    }
    for i in 0..10 {
        assert_eq!(
            k.page_fault(&mut plat, small, 0x100000 + i * 4096, 0, true, false),
            crate::kernel::FaultOutcome::Resume
        );
    }
    assert_eq!(pool.get(), 0);
    // The top-level process needs a page: the big child goes.
    assert_eq!(
        k.page_fault(&mut plat, 1, 0x100000, 0, true, false),
        crate::kernel::FaultOutcome::Resume
    );
    assert_eq!(
        k.page_fault(&mut plat, 1, 0x100000, 0, true, false),
        crate::kernel::FaultOutcome::Resume
    );
    assert!(k.process(1).unwrap().vm().aspace.is_mapped(0x100000));
    assert_eq!(k.exit_status(big), Some(ExitStatus::Signaled(9)));
    assert_eq!(k.exit_status(small), None);
    assert!(
        plat.log.iter().any(|l| l.contains(&alloc::format!(
            "out of memory: killed pid {big} (t), which held 120 KiB"
        ))),
        "{:?}",
        plat.log
    );
    // The small child, now the biggest, runs the pool dry itself: it is the one killed.
    for i in 10..64 {
        if k.page_fault(&mut plat, small, 0x100000 + i * 4096, 0, true, false)
            == crate::kernel::FaultOutcome::Killed
        {
            break;
        }
    }
    assert_eq!(k.exit_status(small), Some(ExitStatus::Signaled(9)));
    assert_eq!(k.exit_status(1), None);
}
