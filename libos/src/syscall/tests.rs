use crate::kernel::{Kernel, Outcome};
use crate::mm::{Area, AreaKind};
use crate::process::{ExitStatus, Process};
use crate::testing::{MemSpace, TestPlatform};
use alloc::boxed::Box;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;

const RW: Perms = Perms {
    read: true,
    write: true,
    exec: false,
};

/// A kernel with pid 1 owning one RW page at 0x10000 and a heap start.
fn setup() -> (Kernel, TestPlatform) {
    let mut k = Kernel::new();
    let mut p = Process::new(1, 0, Box::new(MemSpace::default()), "/bin/test".into());
    p.mm.insert(Area {
        start: 0x10000,
        end: 0x12000,
        perms: RW,
        kind: AreaKind::Anon,
    })
    .unwrap();
    p.mm.brk_start = 0x100000;
    p.mm.brk = 0x100000;
    k.procs.insert(1, p);
    (k, TestPlatform::default())
}

fn call(k: &mut Kernel, plat: &mut TestPlatform, nr: u32, args: [u64; 6]) -> Result<u64, Errno> {
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

fn poke(k: &mut Kernel, addr: u64, data: &[u8]) {
    let p = k.process(1).unwrap();
    p.mm.copy_out(p.aspace.as_mut(), addr, data).unwrap();
}

fn peek(k: &mut Kernel, addr: u64, buf: &mut [u8]) {
    let p = k.process(1).unwrap();
    p.mm.copy_in(p.aspace.as_mut(), addr, buf).unwrap();
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
    assert_eq!(
        k.syscall(&mut plat, 1, &mut r),
        Outcome::Exit(ExitStatus::Exited(44))
    );
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
        Err(Errno::ENODEV)
    );
}

#[test]
fn out_of_memory_is_enomem_not_a_panic() {
    let mut k = Kernel::new();
    let mut plat = TestPlatform::default();
    let space = MemSpace {
        limit: Some(1),
        ..Default::default()
    };
    let mut p = Process::new(1, 0, Box::new(space), "/t".into());
    p.mm.insert(Area {
        start: 0x10000,
        end: 0x20000,
        perms: RW,
        kind: AreaKind::Anon,
    })
    .unwrap();
    k.procs.insert(1, p);
    assert!(k.page_fault(1, 0x10000, true, false).is_ok());
    assert_eq!(
        k.page_fault(1, 0x11000, true, false),
        Err(crate::signal::SIGKILL)
    );
    assert_eq!(
        k.page_fault(1, 0x30000, false, false),
        Err(crate::signal::SIGSEGV)
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
    plat.input.extend_from_slice(b"x");
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
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_read, [0, 0x11000, 10, 0, 0, 0]),
        Ok(1)
    );
    assert_eq!(
        call(&mut k, &mut plat, g::__NR_poll, [0x1, 1, 0, 0, 0, 0]),
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
    assert!(have == want, "docs/syscalls.md is stale: run SELKIE_BLESS=1 cargo test -p selkie-libos syscall_table_doc");
}
