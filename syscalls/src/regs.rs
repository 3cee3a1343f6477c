//! seL4 fault messages of a Linux thread, decoded into plain values.

/// The x86_64 UnknownSyscall fault message (19 words): RAX, RBX, RCX, RDX,
/// RSI, RDI, RBP, R8..R15, FaultIP, SP, FLAGS, Syscall. A reply carries the
/// first 18 back into the thread's registers.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SyscallRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    /// Address of the `syscall` instruction.
    pub fault_ip: u64,
    pub sp: u64,
    pub flags: u64,
    /// The seL4 syscall number the kernel saw (0 in Linux syscall mode).
    pub sel4_syscall: u64,
}

/// A Linux system call: number (rax) and arguments (rdi, rsi, rdx, r10, r8, r9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallArgs {
    pub nr: u64,
    pub args: [u64; 6],
}

impl SyscallRegs {
    /// Decodes the 19-word fault message.
    pub fn from_words(w: &[u64; 19]) -> Self {
        SyscallRegs {
            rax: w[0],
            rbx: w[1],
            rcx: w[2],
            rdx: w[3],
            rsi: w[4],
            rdi: w[5],
            rbp: w[6],
            r8: w[7],
            r9: w[8],
            r10: w[9],
            r11: w[10],
            r12: w[11],
            r13: w[12],
            r14: w[13],
            r15: w[14],
            fault_ip: w[15],
            sp: w[16],
            flags: w[17],
            sel4_syscall: w[18],
        }
    }

    /// Encodes the message words (the first 18 form a reply).
    pub fn to_words(&self) -> [u64; 19] {
        [
            self.rax,
            self.rbx,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.rbp,
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15,
            self.fault_ip,
            self.sp,
            self.flags,
            self.sel4_syscall,
        ]
    }

    /// The Linux syscall in these registers.
    pub fn args(&self) -> SyscallArgs {
        SyscallArgs {
            nr: self.rax,
            args: [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9],
        }
    }

    /// Stores the result and steps past the 2-byte `syscall` instruction.
    pub fn complete(&mut self, ret: u64) {
        self.rax = ret;
        self.fault_ip = self.fault_ip.wrapping_add(2);
    }
}

/// The x86_64 VMFault message: IP, Addr, PrefetchFault, FSR (the page-fault
/// error code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmFault {
    pub ip: u64,
    pub addr: u64,
    pub prefetch: bool,
    pub fsr: u64,
}

impl VmFault {
    pub fn from_words(w: &[u64; 4]) -> Self {
        VmFault {
            ip: w[0],
            addr: w[1],
            prefetch: w[2] != 0,
            fsr: w[3],
        }
    }
    /// The page was present (a rights violation, not a missing page).
    pub fn is_present(&self) -> bool {
        self.fsr & 1 != 0
    }
    pub fn is_write(&self) -> bool {
        self.fsr & 2 != 0
    }
    pub fn is_instruction_fetch(&self) -> bool {
        self.prefetch || self.fsr & 16 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_argument_order() {
        let w: [u64; 19] = core::array::from_fn(|i| i as u64 * 10);
        let r = SyscallRegs::from_words(&w);
        assert_eq!(r.to_words(), w);
        let a = r.args();
        assert_eq!(a.nr, 0); // rax
        assert_eq!(a.args, [50, 40, 30, 90, 70, 80]); // rdi rsi rdx r10 r8 r9
    }

    #[test]
    fn complete_steps_over_syscall() {
        let mut r = SyscallRegs {
            fault_ip: 0x401000,
            ..Default::default()
        };
        r.complete((-38i64) as u64);
        assert_eq!(r.fault_ip, 0x401002);
        assert_eq!(r.rax as i64, -38);
    }

    #[test]
    fn vm_fault_bits() {
        let f = VmFault::from_words(&[1, 2, 0, 0b110]);
        assert!(f.is_write() && !f.is_present() && !f.is_instruction_fetch());
    }
}
