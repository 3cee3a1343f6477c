//! futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET and
//! WAKE_BITSET, with relative (WAIT) and absolute (WAIT_BITSET) timeouts.
//!
//! Waiters are threads blocked with a [`Blocked::Futex`] state keyed by their
//! memory context and the futex address, so the futexes of the threads of a
//! process meet; a shared operation (no FUTEX_PRIVATE_FLAG) on a MAP_SHARED
//! mapping (anonymous, inherited across fork, or of a file) is keyed by the
//! frame instead, so different processes meet there.
use super::KResult;
use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::process::{Blocked, Pid};
use selkie_syscalls::errno::Errno;
use selkie_syscalls::regs::SyscallRegs;
use selkie_syscalls::types::Timespec;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

fn read_u32(k: &Kernel, pid: Pid, addr: u64) -> Result<u32, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let mut b = [0u8; 4];
    p.vm().copy_in(addr, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// The wait-queue key of the futex at `addr`: a private operation's is the
/// caller's memory context and address, a shared one's names the frame of a
/// shared mapping, so that processes sharing it meet.
fn key(k: &Kernel, pid: Pid, addr: u64, op: u64) -> Result<(u64, u64), Errno> {
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    Ok(if op & FUTEX_PRIVATE_FLAG != 0 {
        p.futex_key(addr)
    } else {
        p.shared_futex_key(addr)
    })
}

fn timeout(k: &Kernel, pid: Pid, addr: u64) -> Result<Option<Timespec>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
    let mut b = [0u8; 16];
    p.vm().copy_in(addr, &mut b)?;
    let t = Timespec::from_bytes(&b);
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(t))
}

fn ns(t: &Timespec) -> u64 {
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

/// FUTEX_WAKE_OP's operation on the second word: returns (new value, whether
/// to wake its waiters).
fn wake_op(op: u32, old: u32) -> Result<(u32, bool), Errno> {
    let (kind, cmp) = ((op >> 28) & 7, (op >> 24) & 15);
    let mut oparg = (op >> 12) & 0xfff;
    let cmparg = op & 0xfff;
    if op & (1 << 31) != 0 {
        // FUTEX_OP_OPARG_SHIFT
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let new = match kind {
        0 => oparg,                   // SET
        1 => old.wrapping_add(oparg), // ADD
        2 => old | oparg,             // OR
        3 => old & !oparg,            // ANDN
        4 => old ^ oparg,             // XOR
        _ => return Err(Errno::ENOSYS),
    };
    let (o, c) = (old as i32, cmparg as i32);
    let wake = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(Errno::ENOSYS),
    };
    Ok((new, wake))
}

pub fn sys_futex(k: &mut Kernel, plat: &mut dyn Platform, pid: Pid, r: &SyscallRegs) -> KResult {
    let (uaddr, op, val, arg4, uaddr2, val3) = (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let res = (|| -> Result<KResult, Errno> {
        match cmd {
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                let bitset = if cmd == FUTEX_WAIT {
                    u32::MAX
                } else {
                    val3 as u32
                };
                if bitset == 0 {
                    return Err(Errno::EINVAL);
                }
                let t = timeout(k, pid, arg4)?;
                if read_u32(k, pid, uaddr)? != val as u32 {
                    return Err(Errno::EAGAIN);
                }
                let now = plat.monotonic_ns();
                let deadline_ns = t.map(|t| {
                    if cmd == FUTEX_WAIT {
                        now.saturating_add(ns(&t))
                    } else if op & FUTEX_CLOCK_REALTIME != 0 {
                        now.saturating_add(ns(&t).saturating_sub(plat.realtime_ns()))
                    } else {
                        ns(&t)
                    }
                });
                Ok(KResult::Block(Blocked::Futex {
                    key: key(k, pid, uaddr, op)?,
                    bitset,
                    deadline_ns,
                }))
            }
            FUTEX_WAKE | FUTEX_WAKE_BITSET => {
                let bitset = if cmd == FUTEX_WAKE {
                    u32::MAX
                } else {
                    val3 as u32
                };
                if bitset == 0 {
                    return Err(Errno::EINVAL);
                }
                let key = key(k, pid, uaddr, op)?;
                Ok(KResult::Done(Ok(k.futex_wake(plat, key, val, bitset))))
            }
            FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
                if cmd == FUTEX_CMP_REQUEUE && read_u32(k, pid, uaddr)? != val3 as u32 {
                    return Err(Errno::EAGAIN);
                }
                let (from, to) = (key(k, pid, uaddr, op)?, key(k, pid, uaddr2, op)?);
                let woken = k.futex_wake(plat, from, val, u32::MAX);
                // For requeue the timeout argument is the count to move.
                let moved = k.futex_requeue(from, to, arg4 as u32 as u64);
                Ok(KResult::Done(Ok(woken + moved)))
            }
            FUTEX_WAKE_OP => {
                let old = read_u32(k, pid, uaddr2)?;
                let (new, wake2) = wake_op(val3 as u32, old)?;
                {
                    let p = k.procs.get(&pid).ok_or(Errno::ESRCH)?;
                    p.vm().copy_out(uaddr2, &new.to_le_bytes())?;
                }
                let (k1, k2) = (key(k, pid, uaddr, op)?, key(k, pid, uaddr2, op)?);
                let mut n = k.futex_wake(plat, k1, val, u32::MAX);
                if wake2 {
                    n += k.futex_wake(plat, k2, arg4 as u32 as u64, u32::MAX);
                }
                Ok(KResult::Done(Ok(n)))
            }
            _ => Err(Errno::ENOSYS),
        }
    })();
    res.unwrap_or_else(|e| KResult::Done(Err(e)))
}

#[cfg(test)]
mod tests {
    use super::wake_op;

    #[test]
    fn wake_op_encoding() {
        // FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_GT, 1): glibc's condvar op.
        let op = (4 << 24) | (1 << 12) | 1;
        assert_eq!(wake_op(op, 2), Ok((1, true)));
        assert_eq!(wake_op(op, 1), Ok((1, false)));
        let add = (1 << 28) | (5 << 12); // ADD 5, CMP_EQ 0
        assert_eq!(wake_op(add, 0), Ok((5, true)));
    }
}
