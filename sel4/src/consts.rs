//! seL4 5.0.0 constants for x86_64, named exactly as in the kernel's C headers
//! so that `tests/headers.rs` can check each one against them.
#![allow(non_upper_case_globals)]

/// Declares constants and a name table from one list.
macro_rules! consts {
    ($table:ident: $($name:ident = $val:expr,)*) => {
        $(pub const $name: u64 = $val;)*
        /// Every constant of this group with its C name (used by the header test).
        pub const $table: &[(&str, u64)] = &[$((stringify!($name), $val),)*];
    };
}

// seL4 system call numbers (negative, in rdx).
consts! { SYSCALLS:
    seL4_SysCall = -1i64 as u64,
    seL4_SysReplyRecv = -2i64 as u64,
    seL4_SysSend = -3i64 as u64,
    seL4_SysNBSend = -4i64 as u64,
    seL4_SysRecv = -5i64 as u64,
    seL4_SysReply = -6i64 as u64,
    seL4_SysYield = -7i64 as u64,
    seL4_SysNBRecv = -8i64 as u64,
    seL4_SysDebugPutChar = -9i64 as u64,
    seL4_SysDebugHalt = -10i64 as u64,
}

// Invocation labels (api/invocation.h, arch/api/sel4_invocation.h,
// arch/api/invocation.h for this configuration: no SMP, no VT-x, no IOMMU
// objects, no hardware debug API).
consts! { LABELS:
    InvalidInvocation = 0,
    UntypedRetype = 1,
    TCBReadRegisters = 2,
    TCBWriteRegisters = 3,
    TCBCopyRegisters = 4,
    TCBConfigure = 5,
    TCBSetPriority = 6,
    TCBSetMCPriority = 7,
    TCBSetIPCBuffer = 8,
    TCBSetSpace = 9,
    TCBSuspend = 10,
    TCBResume = 11,
    TCBBindNotification = 12,
    TCBUnbindNotification = 13,
    CNodeRevoke = 14,
    CNodeDelete = 15,
    CNodeCancelBadgedSends = 16,
    CNodeCopy = 17,
    CNodeMint = 18,
    CNodeMove = 19,
    CNodeMutate = 20,
    CNodeRotate = 21,
    CNodeSaveCaller = 22,
    IRQIssueIRQHandler = 23,
    IRQAckIRQ = 24,
    IRQSetIRQHandler = 25,
    IRQClearIRQHandler = 26,
    DomainSetSet = 27,
    X86PDPTMap = 28,
    X86PDPTUnmap = 29,
    X86PageDirectoryMap = 30,
    X86PageDirectoryUnmap = 31,
    X86PageDirectoryGetStatusBits = 32,
    X86PageTableMap = 33,
    X86PageTableUnmap = 34,
    X86IOPageTableMap = 35,
    X86IOPageTableUnmap = 36,
    X86PageMap = 37,
    X86PageRemap = 38,
    X86PageUnmap = 39,
    X86PageMapIO = 40,
    X86PageGetAddress = 41,
    X86ASIDControlMakePool = 42,
    X86ASIDPoolAssign = 43,
    X86IOPortIn8 = 44,
    X86IOPortIn16 = 45,
    X86IOPortIn32 = 46,
    X86IOPortOut8 = 47,
    X86IOPortOut16 = 48,
    X86IOPortOut32 = 49,
    X86IRQIssueIRQHandlerIOAPIC = 50,
    X86IRQIssueIRQHandlerMSI = 51,
}

// Object types (api/objecttype.h and the x86/x86_64 extensions, HUGE_PAGE on).
consts! { OBJECT_TYPES:
    seL4_UntypedObject = 0,
    seL4_TCBObject = 1,
    seL4_EndpointObject = 2,
    seL4_NotificationObject = 3,
    seL4_CapTableObject = 4,
    seL4_X86_PDPTObject = 5,
    seL4_X64_PML4Object = 6,
    seL4_X64_HugePageObject = 7,
    seL4_X86_4K = 8,
    seL4_X86_LargePageObject = 9,
    seL4_X86_PageTableObject = 10,
    seL4_X86_PageDirectoryObject = 11,
}

// Initial capabilities of the root task (sel4/bootinfo_types.h).
consts! { INITIAL_CAPS:
    seL4_CapNull = 0,
    seL4_CapInitThreadTCB = 1,
    seL4_CapInitThreadCNode = 2,
    seL4_CapInitThreadVSpace = 3,
    seL4_CapIRQControl = 4,
    seL4_CapASIDControl = 5,
    seL4_CapInitThreadASIDPool = 6,
    seL4_CapIOPort = 7,
    seL4_CapIOSpace = 8,
    seL4_CapBootInfoFrame = 9,
    seL4_CapInitThreadIPCBuffer = 10,
    seL4_CapDomain = 11,
    seL4_NumInitialCaps = 12,
}

// Error codes (sel4/errors.h).
consts! { ERRORS:
    seL4_NoError = 0,
    seL4_InvalidArgument = 1,
    seL4_InvalidCapability = 2,
    seL4_IllegalOperation = 3,
    seL4_RangeError = 4,
    seL4_AlignmentError = 5,
    seL4_FailedLookup = 6,
    seL4_TruncatedMessage = 7,
    seL4_DeleteFirst = 8,
    seL4_RevokeFirst = 9,
    seL4_NotEnoughMemory = 10,
}

// Fault labels (seL4_FaultType) and message lengths.
consts! { FAULTS:
    seL4_Fault_NullFault = 0,
    seL4_Fault_CapFault = 1,
    seL4_Fault_UnknownSyscall = 2,
    seL4_Fault_UserException = 3,
    seL4_Fault_VMFault = 5,
    seL4_UnknownSyscall_Length = 19,
    seL4_UserException_Length = 5,
    seL4_VMFault_Length = 4,
}

// Sizes (sel4_arch/constants.h, sel4/constants.h).
consts! { SIZES:
    seL4_PageBits = 12,
    seL4_LargePageBits = 21,
    seL4_HugePageBits = 30,
    seL4_SlotBits = 5,
    seL4_TCBBits = 11,
    seL4_EndpointBits = 4,
    seL4_NotificationBits = 5,
    seL4_PageTableBits = 12,
    seL4_PageDirBits = 12,
    seL4_PDPTBits = 12,
    seL4_PML4Bits = 12,
    seL4_ASIDPoolBits = 12,
    seL4_MinUntypedBits = 4,
    seL4_MaxUntypedBits = 47,
    seL4_MsgMaxLength = 120,
    seL4_MsgMaxExtraCaps = 3,
    seL4_WordBits = 64,
}

/// Bit 8 of the TCB_WriteRegisters flags word: set Linux syscall mode (a
/// Selkie kernel patch, `scripts/kernel/patches/0002-linux-syscall-mode.patch`).
/// While set, every `syscall` of the thread raises an UnknownSyscall fault.
pub const SELKIE_WRITE_REGISTERS_LINUX_MODE: u64 = 1 << 8;

/// The name of a seL4 error code.
pub fn error_name(code: u64) -> &'static str {
    ERRORS
        .iter()
        .find(|(_, v)| *v == code)
        .map(|(n, _)| *n)
        .unwrap_or("seL4_UnknownError")
}

/// The name of an invocation label.
pub fn label_name(label: u64) -> &'static str {
    LABELS
        .iter()
        .find(|(_, v)| *v == label)
        .map(|(n, _)| *n)
        .unwrap_or("unknown")
}

/// Capability rights (`seL4_CapRights_t`): write is bit 0, read bit 1, grant bit 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapRights(pub u64);

impl CapRights {
    pub const NONE: CapRights = CapRights(0);
    pub const WRITE: CapRights = CapRights(1);
    pub const READ: CapRights = CapRights(2);
    pub const GRANT: CapRights = CapRights(4);
    pub const RW: CapRights = CapRights(3);
    pub const ALL: CapRights = CapRights(7);
    /// Builds rights from flags.
    pub const fn new(grant: bool, read: bool, write: bool) -> Self {
        CapRights(((grant as u64) << 2) | ((read as u64) << 1) | (write as u64))
    }
}

/// x86 VM attributes (`seL4_X86_VMAttributes`).
pub const seL4_X86_Default_VMAttributes: u64 = 0;
