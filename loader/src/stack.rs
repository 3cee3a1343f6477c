//! The Linux x86_64 initial process stack (fs/binfmt_elf.c create_elf_tables).
//!
//! From the top down: an 8-byte zero end marker; the argv strings, envp
//! strings and the exec file name, in ascending order; then (16-byte aligned)
//! the platform string and the 16 AT_RANDOM bytes; then, with sp 16-byte
//! aligned and pointing at it, argc, argv[], NULL, envp[], NULL and the auxv
//! pairs ending with AT_NULL.
use crate::LoadPlan;
use alloc::vec;
use alloc::vec::Vec;
use linux_raw_sys::auxvec as at;

/// Inputs of [`build_initial_stack`].
pub struct StackParams<'a> {
    pub stack_top: u64,
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    pub execfn: &'a [u8],
    pub platform: &'a [u8],
    pub random: [u8; 16],
    /// Entries other than AT_RANDOM, AT_EXECFN, AT_PLATFORM and AT_NULL,
    /// which are added here.
    pub auxv: Vec<(u64, u64)>,
    /// Largest size of the whole block (E2BIG beyond).
    pub max_size: u64,
}

/// The bytes to place at [sp, stack_top) and where things are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    pub sp: u64,
    pub bytes: Vec<u8>,
    pub argv_addr: u64,
    pub envp_addr: u64,
    pub auxv_addr: u64,
}

/// The arguments and environment do not fit (E2BIG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackError;

impl StackError {
    /// E2BIG.
    pub fn errno(&self) -> i32 {
        7
    }
}

impl core::fmt::Display for StackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "argument list too long")
    }
}

/// The auxv entries every program gets (AT_PHDR ... AT_CLKTCK).
#[allow(clippy::too_many_arguments)]
pub fn standard_auxv(
    plan: &LoadPlan,
    uid: u64,
    euid: u64,
    gid: u64,
    egid: u64,
    hwcap: u64,
    clktck: u64,
    sysinfo_ehdr: Option<u64>,
    interp_base: u64,
) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    if let Some(e) = sysinfo_ehdr {
        v.push((at::AT_SYSINFO_EHDR as u64, e));
    }
    v.extend_from_slice(&[
        (at::AT_HWCAP as u64, hwcap),
        (at::AT_PAGESZ as u64, 4096),
        (at::AT_CLKTCK as u64, clktck),
        (at::AT_PHDR as u64, plan.phdr_vaddr),
        (at::AT_PHENT as u64, plan.phent as u64),
        (at::AT_PHNUM as u64, plan.phnum as u64),
        (at::AT_BASE as u64, interp_base),
        (at::AT_FLAGS as u64, 0),
        (at::AT_ENTRY as u64, plan.entry),
        (at::AT_UID as u64, uid),
        (at::AT_EUID as u64, euid),
        (at::AT_GID as u64, gid),
        (at::AT_EGID as u64, egid),
        (at::AT_SECURE as u64, 0),
    ]);
    v
}

/// Lays out the initial stack below `p.stack_top`.
pub fn build_initial_stack(p: &StackParams<'_>) -> Result<InitialStack, StackError> {
    let top = p.stack_top & !15;
    // Strings, ascending: argv, envp, execfn; then the 8-byte end marker.
    let mut strings = Vec::new();
    let mut argv_off = Vec::new();
    let mut envp_off = Vec::new();
    for a in p.argv {
        argv_off.push(strings.len() as u64);
        strings.extend_from_slice(a);
        strings.push(0);
    }
    for e in p.envp {
        envp_off.push(strings.len() as u64);
        strings.extend_from_slice(e);
        strings.push(0);
    }
    let execfn_off = strings.len() as u64;
    strings.extend_from_slice(p.execfn);
    strings.push(0);
    let strings_len = strings.len() as u64 + 8;
    if strings_len > p.max_size {
        return Err(StackError);
    }
    let strings_addr = top - strings_len;
    // Platform string and random bytes, below the 16-byte aligned strings.
    let platform_addr = (strings_addr & !15) - (p.platform.len() as u64 + 1);
    let random_addr = (platform_addr - 16) & !15;
    let mut auxv = p.auxv.clone();
    auxv.push((at::AT_RANDOM as u64, random_addr));
    auxv.push((at::AT_EXECFN as u64, strings_addr + execfn_off));
    auxv.push((at::AT_PLATFORM as u64, platform_addr));
    auxv.push((at::AT_NULL as u64, 0));
    let words = 1 + p.argv.len() + 1 + p.envp.len() + 1 + auxv.len() * 2;
    let sp = (random_addr - words as u64 * 8) & !15;
    if top - sp > p.max_size {
        return Err(StackError);
    }
    let mut bytes = vec![0u8; (top - sp) as usize];
    let at_off = |addr: u64| (addr - sp) as usize;
    let put = |bytes: &mut Vec<u8>, addr: u64, data: &[u8]| {
        let o = at_off(addr);
        bytes[o..o + data.len()].copy_from_slice(data);
    };
    put(&mut bytes, strings_addr, &strings);
    put(&mut bytes, platform_addr, p.platform);
    put(&mut bytes, random_addr, &p.random);
    let mut w = sp;
    let mut word = |bytes: &mut Vec<u8>, v: u64| {
        put(bytes, w, &v.to_le_bytes());
        w += 8;
    };
    word(&mut bytes, p.argv.len() as u64);
    let argv_addr = sp + 8;
    for o in &argv_off {
        word(&mut bytes, strings_addr + o);
    }
    word(&mut bytes, 0);
    let envp_addr = argv_addr + 8 * (p.argv.len() as u64 + 1);
    for o in &envp_off {
        word(&mut bytes, strings_addr + o);
    }
    word(&mut bytes, 0);
    let auxv_addr = envp_addr + 8 * (p.envp.len() as u64 + 1);
    for (k, v) in &auxv {
        word(&mut bytes, *k);
        word(&mut bytes, *v);
    }
    Ok(InitialStack {
        sp,
        bytes,
        argv_addr,
        envp_addr,
        auxv_addr,
    })
}
