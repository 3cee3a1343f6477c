//! Machine services: clocks (TSC and CMOS RTC), entropy, QEMU's fw_cfg
//! (the init command line) and the isa-debug-exit port.
#[cfg(not(feature = "instance"))]
use alloc::{string::String, vec::Vec};
use selkie_sel4::bootinfo::BootInfo;
#[cfg(not(feature = "instance"))]
use selkie_sel4::{consts::*, invoke};

static mut TSC_MHZ: u64 = 1000;
static mut BOOT_TSC: u64 = 0;
static mut EPOCH_AT_BOOT_NS: u64 = 0;
static mut RNG: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xbf58_476d_1ce4_e5b9];

fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(feature = "instance"))]
fn in8(port: u16) -> u8 {
    invoke::ioport_in8(seL4_CapIOPort, port).unwrap_or(0)
}
#[cfg(not(feature = "instance"))]
fn out8(port: u16, v: u8) {
    let _ = invoke::ioport_out8(seL4_CapIOPort, port, v);
}

#[cfg(not(feature = "instance"))]
pub fn init(bi: &BootInfo) {
    let mhz = bi.arch_info;
    let epoch = read_rtc();
    // SAFETY: single-threaded boot.
    unsafe {
        if mhz > 0 {
            TSC_MHZ = mhz;
        }
        BOOT_TSC = rdtsc();
        EPOCH_AT_BOOT_NS = epoch * 1_000_000_000;
        RNG[0] ^= rdtsc().rotate_left(17) ^ epoch;
        RNG[1] ^= rdtsc().wrapping_mul(0x2545_f491_4f6c_dd1d);
    }
}

/// An instance's clock is the root task's (the same TSC and boot time).
#[cfg(feature = "instance")]
pub fn init(_bi: &BootInfo) {
    let i = crate::instance::info();
    // SAFETY: single-threaded start.
    unsafe {
        TSC_MHZ = i.tsc_mhz.max(1);
        BOOT_TSC = i.boot_tsc;
        EPOCH_AT_BOOT_NS = i.epoch_ns;
        RNG[0] ^= rdtsc().rotate_left(17) ^ i.random_seed;
        RNG[1] ^= rdtsc().wrapping_mul(0x2545_f491_4f6c_dd1d) ^ i.random_seed.rotate_left(29);
    }
}

/// (TSC MHz, TSC at boot, Unix time at boot in ns) for the vDSO.
pub fn clock_params() -> (u64, u64, u64) {
    // SAFETY: read-only after boot.
    unsafe { (TSC_MHZ, BOOT_TSC, EPOCH_AT_BOOT_NS) }
}

/// Nanoseconds since boot from the TSC (calibrated by the kernel at boot).
pub fn monotonic_ns() -> u64 {
    // SAFETY: read-only after boot.
    let (mhz, boot) = unsafe { (TSC_MHZ, BOOT_TSC) };
    ((rdtsc().wrapping_sub(boot)) as u128 * 1000 / mhz as u128) as u64
}

/// Nanoseconds since the Unix epoch (CMOS RTC at boot plus the TSC).
pub fn realtime_ns() -> u64 {
    // SAFETY: read-only after boot.
    (unsafe { EPOCH_AT_BOOT_NS }) + monotonic_ns()
}

/// xorshift128+ mixed with the TSC: not a cryptographic generator.
pub fn fill_random(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        // SAFETY: single-threaded.
        let v = unsafe {
            let mut s1 = RNG[0];
            let s0 = RNG[1];
            RNG[0] = s0;
            s1 ^= s1 << 23;
            RNG[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26) ^ rdtsc();
            RNG[1].wrapping_add(s0)
        };
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
}

#[cfg(not(feature = "instance"))]
fn cmos(reg: u8) -> u8 {
    out8(0x70, reg);
    in8(0x71)
}

#[cfg(not(feature = "instance"))]
/// Seconds since the epoch from the CMOS real-time clock.
fn read_rtc() -> u64 {
    while cmos(0x0a) & 0x80 != 0 {}
    let b = cmos(0x0b);
    let bcd = |v: u8| {
        if b & 4 == 0 {
            (v & 0x0f) + (v >> 4) * 10
        } else {
            v
        }
    };
    let sec = bcd(cmos(0x00)) as u64;
    let min = bcd(cmos(0x02)) as u64;
    let hour_raw = cmos(0x04);
    let mut hour = bcd(hour_raw & 0x7f) as u64;
    if b & 2 == 0 && hour_raw & 0x80 != 0 {
        hour = (hour % 12) + 12;
    }
    let day = bcd(cmos(0x07)) as u64;
    let month = bcd(cmos(0x08)) as u64;
    let year = 2000 + bcd(cmos(0x09)) as u64;
    days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
}

#[cfg(not(feature = "instance"))]
/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146097 + doe - 719468).max(0) as u64
}

#[cfg(not(feature = "instance"))]
/// Reads fw_cfg file `name` (QEMU `-fw_cfg name=...`), if present.
pub fn fw_cfg_file(name: &str) -> Option<Vec<u8>> {
    let select = |key: u16| {
        let _ = invoke::ioport_out16(seL4_CapIOPort, 0x510, key);
    };
    let read = |n: usize| -> Vec<u8> { (0..n).map(|_| in8(0x511)).collect() };
    select(0x0000);
    if read(4) != b"QEMU" {
        return None;
    }
    select(0x0019);
    let count = u32::from_be_bytes(read(4).try_into().ok()?);
    for _ in 0..count.min(1024) {
        let e = read(64);
        let size = u32::from_be_bytes(e[0..4].try_into().ok()?) as usize;
        let key = u16::from_be_bytes(e[4..6].try_into().ok()?);
        let fname = &e[8..];
        let fname = &fname[..fname.iter().position(|&b| b == 0).unwrap_or(fname.len())];
        if fname == name.as_bytes() {
            select(key);
            return Some(read(size.min(64 * 1024)));
        }
    }
    None
}

#[cfg(not(feature = "instance"))]
/// The init command line given with `-fw_cfg name=opt/selkie/init,string=...`.
pub fn init_command() -> Option<String> {
    fw_cfg_file("opt/selkie/init").and_then(|v| String::from_utf8(v).ok())
}

/// The test hook `-fw_cfg name=opt/selkie/fault,string=fs-panic` (or
/// `fs-fault`): what the fs task is told to do when a request names
/// `.selkie-fault` (scripts/qemu.sh sets it from SELKIE_FAULT). 0: nothing,
/// 1: panic, 2: a page fault.
#[cfg(all(not(feature = "fs-inproc"), not(feature = "instance")))]
pub fn fs_fault_injection() -> u64 {
    match fw_cfg_file("opt/selkie/fault").as_deref() {
        Some(b"fs-panic") => 1,
        Some(b"fs-fault") => 2,
        _ => 0,
    }
}

#[cfg(not(feature = "instance"))]
/// Ends QEMU with `status` through the isa-debug-exit device (QEMU exits with
/// 2*status+1); spins if the device is absent.
pub fn exit_qemu(status: u8) -> ! {
    let _ = invoke::ioport_out32(seL4_CapIOPort, 0xf4, status as u32);
    loop {
        selkie_sel4::syscall::yield_now();
    }
}

#[cfg(not(feature = "instance"))]
/// Ends the machine as reboot(2) asked: power-off and halt end QEMU with
/// status 0; restart resets the machine through the PCI reset register (QEMU
/// started with -no-reboot exits instead), falling back to the keyboard
/// controller's reset line.
pub fn shutdown(how: selkie_libos::kernel::Shutdown) -> ! {
    use selkie_libos::kernel::Shutdown;
    match how {
        Shutdown::PowerOff => println!("selkie: power off"),
        Shutdown::Halt => println!("selkie: system halted"),
        Shutdown::Restart => println!("selkie: restarting"),
    }
    println!("selkie: halt 0");
    if how == Shutdown::Restart {
        out8(0xcf9, 0x02);
        out8(0xcf9, 0x06);
        out8(0x64, 0xfe);
    }
    exit_qemu(0)
}

#[cfg(not(feature = "instance"))]
static mut PIT_HANDLER: u64 = 0;

#[cfg(not(feature = "instance"))]
/// Uses the PIT (channel 0, IRQ 0 = IOAPIC pin 2) as a one-shot timer.
pub fn enable_timer(handler: u64) {
    // SAFETY: single-threaded; set once at boot.
    unsafe { PIT_HANDLER = handler };
    let _ = invoke::irq_handler_ack(handler);
}

#[cfg(not(feature = "instance"))]
/// Whether a timer interrupt source is available.
pub fn has_timer() -> bool {
    // SAFETY: read-only after boot.
    unsafe { PIT_HANDLER != 0 }
}

#[cfg(not(feature = "instance"))]
/// Acknowledges the timer interrupt.
pub fn ack_timer() {
    // SAFETY: read-only after boot.
    let h = unsafe { PIT_HANDLER };
    if h != 0 {
        let _ = invoke::irq_handler_ack(h);
    }
}

#[cfg(not(feature = "instance"))]
/// Arms the PIT to interrupt once after `ns` (at most ~55 ms: longer waits
/// take several rounds).
pub fn arm_timer(ns: u64) {
    let ticks = (ns as u128 * 1_193_182 / 1_000_000_000).clamp(1, 0xffff) as u16;
    out8(0x43, 0x30); // channel 0, lobyte/hibyte, mode 0 (interrupt on terminal count)
    out8(0x40, ticks as u8);
    out8(0x40, (ticks >> 8) as u8);
}

/// Whether syscalls are traced (`make run TRACE=1`).
#[cfg(not(feature = "instance"))]
pub fn trace_enabled() -> bool {
    fw_cfg_file("opt/selkie/trace").is_some_and(|v| v.first() == Some(&b'1'))
}

#[cfg(feature = "instance")]
pub use through_root::*;

/// What an instance asks the root task for: its commands, its end, its
/// timer.
#[cfg(feature = "instance")]
mod through_root {
    use crate::instance;
    use alloc::string::String;
    use selkie_sel4::instance::FLAG_TRACE;

    pub fn trace_enabled() -> bool {
        instance::info().flags & FLAG_TRACE != 0
    }

    pub fn init_command() -> Option<String> {
        let i = instance::info();
        let n = (i.init_len as usize).min(i.init.len());
        (n > 0)
            .then(|| String::from_utf8(i.init[..n].to_vec()).ok())
            .flatten()
    }

    #[cfg(not(feature = "fs-inproc"))]
    pub fn fs_fault_injection() -> u64 {
        instance::info().fs_fault
    }

    /// The instance's commands are done: the root task stops it.
    pub fn exit_qemu(status: u8) -> ! {
        instance::exit(status as u64)
    }

    /// reboot(2) in an instance ends the instance (status 0).
    pub fn shutdown(how: selkie_libos::kernel::Shutdown) -> ! {
        use selkie_libos::kernel::Shutdown;
        match how {
            Shutdown::PowerOff => println!("selkie: power off"),
            Shutdown::Halt => println!("selkie: system halted"),
            Shutdown::Restart => println!("selkie: restart (the instance ends)"),
        }
        instance::exit(0)
    }

    /// The deadline the root task was last asked to signal (0: none).
    static mut ARMED: u64 = 0;

    pub fn enable_timer(_handler: u64) {}

    pub fn has_timer() -> bool {
        true
    }

    /// The root task signalled: the armed deadline is spent.
    pub fn ack_timer() {
        // SAFETY: single-threaded.
        unsafe { ARMED = 0 };
    }

    /// Asks the root task for a signal in `ns` unless an earlier one is
    /// still to come.
    pub fn arm_timer(ns: u64) {
        let now = super::monotonic_ns();
        let deadline = now + ns.max(1);
        // SAFETY: single-threaded.
        let armed = unsafe { ARMED };
        if armed == 0 || armed <= now || deadline < armed {
            // SAFETY: single-threaded.
            unsafe { ARMED = deadline };
            instance::arm_timer(deadline);
        }
    }
}
