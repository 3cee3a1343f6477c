//! The root task with a boot configuration of LibOS instances
//! (`make run CONFIG=path`, embedded at build time): it hosts no LibOS
//! itself but starts each instance as a task of its own and looks after
//! them.
//!
//! - Memory: each instance's quota is cut from the root task's untyped
//!   memory as a few power-of-two untyped objects (its pool), copied into
//!   its CSpace and listed in the boot info the root task writes for it.
//!   The instance makes every object it needs from there; its image, heap
//!   and CSpace come from the root task's own memory.
//! - The console: an instance's text comes in a Call with the bytes in its
//!   console page; the root task writes it to COM1 with `[name] ` at the
//!   start of each line. Input goes to the instance configured with
//!   `console = true`, which hears BADGE_CONSOLE and Calls for the bytes.
//! - The timer: each instance asks for a signal at a deadline; the PIT is
//!   armed for the earliest.
//! - Channels: two rings per channel in frames mapped into both ends; the
//!   ends signal each other, the root task is not in the way.
//! - Containment: an instance that exits, panics or faults is stopped, its
//!   pool revoked (every object it made is gone, the memory ready for
//!   reuse), its CSpace emptied and its image unmapped; the other
//!   instances go on, and the channel's other end sees end-of-file. With
//!   `restart = "on-failure"` a failed instance is started again (at most
//!   `selkie_config::MAX_RESTARTS` times).
//! - The end: when every instance has ended, `selkie: halt N`, N being 0
//!   when every instance's commands exited 0.
use crate::{console, machine};
use alloc::collections::VecDeque;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_config::{Config, Restart};
use selkie_libos::{AddressSpace, PageRef};
use selkie_sel4::bootinfo::{BootInfo, SlotRegion, UntypedDesc};
use selkie_sel4::instance::*;
use selkie_sel4::ipc::MessageInfo;
#[cfg(not(feature = "net-inproc"))]
use selkie_sel4::service::DROP_CLIENT;
use selkie_sel4::{consts::*, invoke, syscall, CPtr, CapRights};
use selkie_task::objects::{self, DEPTH};
use selkie_task::service::{load_image, plan_image};
use selkie_task::vspace::{CachePage, ChildSpace, RO, RW};

/// The boot configuration (scripts/build-roottask.sh with SELKIE_CONFIG);
/// empty without one.
static CONFIG: &str = include_str!(concat!(env!("OUT_DIR"), "/selkie.toml"));
/// Each instance's own files (cpio archives, empty for none), packed from
/// the configuration's `tree` directories by build.rs.
mod trees {
    include!(concat!(env!("OUT_DIR"), "/trees.rs"));
}
use trees::TREES;

/// The LibOS instance program (apps/roottask built with `instance`).
static INSTANCE_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/instance.elf"));

/// Where the kernel loads the root task's image (apps/roottask/link.ld):
/// the first of its image frames maps this address.
const IMAGE_BASE: u64 = 0x40_0000;
const PAGE: u64 = 4096;
/// Badges of the root task's own notification (`run::setup_interrupts`).
const BADGE_CONSOLE_IRQ: u64 = 1 << 62;
const BADGE_TIMER_IRQ: u64 = 1 << 61;
/// Console input held for the reading instance at most.
const INPUT_MAX: usize = 64 * 1024;

/// The configuration embedded in the image, if any. A configuration that
/// does not parse ends the boot with its reason.
pub fn config() -> Option<Config> {
    if CONFIG.trim().is_empty() {
        return None;
    }
    match Config::parse(CONFIG) {
        Ok(c) => Some(c),
        Err(e) => {
            println!("selkie: the boot configuration: {e}");
            machine::exit_qemu(125)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Running,
    /// Its commands ended with this status.
    Exited(u8),
    /// It panicked or faulted and stays down.
    Failed,
}

/// What the root task keeps of an instance across restarts.
struct Inst {
    cfg: selkie_config::Instance,
    /// Its pool: untyped caps and their sizes.
    chunks: Vec<(CPtr, u8)>,
    tcb: CPtr,
    cnode: CPtr,
    ntfn: CPtr,
    asid_pool: CPtr,
    /// Badged copies of its notification.
    sig_console: CPtr,
    sig_timer: CPtr,
    sig_channel: CPtr,
    #[cfg_attr(feature = "net-inproc", allow(dead_code))]
    sig_net: CPtr,
    /// While it runs: its image and the pages shared with it.
    space: Option<ChildSpace>,
    console_page: Option<PageRef>,
    /// The monotonic time it wants a BADGE_TIMER at (0: none).
    deadline: u64,
    state: State,
    restarts: u32,
    input: VecDeque<u8>,
}

/// A channel: `rings[k]` is written by `ends[k]` and read by the other.
struct Chan {
    ends: [usize; 2],
    rings: [Vec<PageRef>; 2],
}

struct Host {
    config: Config,
    insts: Vec<Inst>,
    chans: Vec<Chan>,
    ep: CPtr,
    /// The root task's image frames (for the file tree every instance maps).
    image_frames: SlotRegion,
    /// The instance whose console line is unfinished.
    open_line: Option<usize>,
    /// The net task the instances with `network = true` share.
    #[cfg(not(feature = "net-inproc"))]
    net: Option<crate::net::SharedNet>,
    /// The block task, for the instance with `disk = true`.
    disk: Option<crate::blk::Disk>,
    /// The shared file systems' tasks (in the configuration's order) and
    /// each member's buffers with it.
    shares: Vec<SharedFs>,
}

/// A shared file system's task, and instance i's buffers with it at
/// `buffers[i]` when it is a member.
struct SharedFs {
    task: selkie_task::service::ServiceTask,
    buffers: Vec<Option<(Vec<PageRef>, Vec<PageRef>)>>,
}

/// Sends a signal on notification `cap`.
fn signal(cap: CPtr) {
    syscall::send(cap, MessageInfo::new(0, 0, 0, 0), [0; 4]);
}

fn sel4(e: selkie_sel4::Error) -> String {
    format!("{e}")
}

/// The bytes of a plain `repr(C)` value.
fn bytes_of<T>(v: &T) -> &[u8] {
    // SAFETY: any initialised value can be read as bytes; T has no padding
    // we rely on (BootInfo is packed, Info is all u64 and byte arrays).
    unsafe { core::slice::from_raw_parts(v as *const T as *const u8, core::mem::size_of::<T>()) }
}

impl Host {
    /// Closes an instance's unfinished console line before other text.
    fn close_line(&mut self) {
        if self.open_line.take().is_some() {
            console::write_bytes(b"\r\n");
        }
    }

    /// The root task's own message, on a line of its own.
    fn say(&mut self, msg: core::fmt::Arguments<'_>) {
        self.close_line();
        println!("selkie: {msg}");
    }

    /// An instance's console text, `[name] ` at the start of each line.
    fn console_text(&mut self, i: usize, data: &[u8]) {
        for part in data.split_inclusive(|&b| b == b'\n') {
            if self.open_line != Some(i) {
                self.close_line();
                console::write_bytes(b"[");
                console::write_bytes(self.insts[i].cfg.name.as_bytes());
                console::write_bytes(b"] ");
                self.open_line = Some(i);
            }
            console::write_bytes(part);
            if part.ends_with(b"\n") {
                self.open_line = None;
            }
        }
    }

    /// The shared file systems instance `i` mounts (indexes into
    /// `config.shares`, those whose task runs).
    fn shares_of(&self, i: usize) -> Vec<usize> {
        (0..self.shares.len())
            .filter(|&s| self.shares[s].buffers[i].is_some())
            .collect()
    }

    /// Instance `i`'s buffers with the shared net task, if it uses it.
    #[cfg(not(feature = "net-inproc"))]
    fn net_buffers(&self, i: usize) -> Option<&(Vec<PageRef>, Vec<PageRef>)> {
        self.net.as_ref()?.buffers.get(i)?.as_ref()
    }
    #[cfg(feature = "net-inproc")]
    fn net_buffers(&self, _i: usize) -> Option<&(Vec<PageRef>, Vec<PageRef>)> {
        None
    }

    /// The shared net task's endpoint (unbadged: the root task's).
    #[cfg(not(feature = "net-inproc"))]
    fn net_endpoint(&self) -> Option<CPtr> {
        Some(self.net.as_ref()?.task.endpoint_and_buffers().0)
    }
    #[cfg(feature = "net-inproc")]
    fn net_endpoint(&self) -> Option<CPtr> {
        None
    }

    /// Maps the pages of `bytes`, a part of the root task's own image, at
    /// `va` in `space`, read-only (`bytes` starts at its offset in the
    /// first page).
    fn map_image(&self, space: &mut ChildSpace, bytes: &[u8], va: u64) -> Result<(), String> {
        let first = bytes.as_ptr() as u64 / PAGE * PAGE;
        let pages = (bytes.as_ptr() as u64 + bytes.len() as u64 - first).div_ceil(PAGE);
        let frames = self.image_frames;
        for k in 0..pages {
            let index = (first - IMAGE_BASE) / PAGE + k;
            if frames.start + index >= frames.end {
                return Err("a file tree outside the root task's image".into());
            }
            space
                .map_frame_cap(va + k * PAGE, frames.start + index, RO)
                .map_err(|_| String::from("out of memory for its image"))?;
        }
        Ok(())
    }

    /// Builds instance `i` and lets it run.
    fn start(&mut self, i: usize) -> Result<(), String> {
        let elf = INSTANCE_ELF;
        let plan = plan_image(elf, BOOTINFO)?;
        let mut space = load_image(elf, &plan)?;
        let oom = |_| String::from("out of memory for its image");
        let new_page = || -> Result<PageRef, String> {
            Ok(Rc::new(CachePage::new().map_err(|_| "out of memory")?))
        };
        // Its boot info: its pool and its free slots.
        let inst = &self.insts[i];
        let n = inst.chunks.len() as u64;
        // SAFETY: BootInfo is plain data (a null IPC buffer pointer is
        // replaced below).
        let mut bi: BootInfo = unsafe { core::mem::zeroed() };
        bi.ipc_buffer = IPC_BUFFER as *mut _;
        bi.empty = SlotRegion {
            start: FIRST_UNTYPED + n,
            end: 1 << CNODE_BITS,
        };
        bi.untyped = SlotRegion {
            start: FIRST_UNTYPED,
            end: FIRST_UNTYPED + n,
        };
        bi.init_thread_cnode_size_bits = CNODE_BITS as u8;
        let (mhz, boot_tsc, epoch) = machine::clock_params();
        bi.arch_info = mhz;
        for (k, &(_, bits)) in inst.chunks.iter().enumerate() {
            bi.untyped_list[k] = UntypedDesc {
                paddr: 0,
                padding1: 0,
                padding2: 0,
                size_bits: bits,
                is_device: 0,
            };
        }
        let bi_page = new_page()?;
        bi_page.write(0, bytes_of(&bi));
        space.map_page(BOOTINFO, &bi_page, RO).map_err(oom)?;
        // Its setup.
        let mut info = Info {
            magic: MAGIC,
            tsc_mhz: mhz,
            boot_tsc,
            epoch_ns: epoch,
            random_seed: 0,
            rootfs_offset: crate::run::ROOTFS.as_ptr() as u64 % PAGE,
            rootfs_len: crate::run::ROOTFS.len() as u64,
            tree_offset: TREES.get(i).map_or(0, |t| t.as_ptr() as u64 % PAGE),
            tree_len: TREES.get(i).map_or(0, |t| t.len() as u64),
            untypeds: n,
            flags: 0,
            fs_fault: 0,
            disk_sectors: 0,
            name_len: inst.cfg.name.len() as u64,
            name: [0; 16],
            channels: 0,
            channel_names: [[0; 16]; MAX_CHANNELS],
            shares: 0,
            share_names: [[0; 16]; MAX_SHARES],
            init_len: 0,
            init: [0; INIT_MAX],
        };
        let mut seed = [0u8; 8];
        machine::fill_random(&mut seed);
        info.random_seed = u64::from_le_bytes(seed);
        if machine::trace_enabled() {
            info.flags |= FLAG_TRACE;
        }
        if inst.cfg.console {
            info.flags |= FLAG_CONSOLE;
        }
        if self.net_buffers(i).is_some() {
            info.flags |= FLAG_NET;
        }
        let disk = self.disk.as_ref().filter(|_| inst.cfg.disk);
        if let Some(d) = disk {
            info.flags |= FLAG_DISK;
            if d.read_only() {
                info.flags |= FLAG_DISK_RO;
            }
            info.disk_sectors = d.sectors();
        }
        #[cfg(not(feature = "fs-inproc"))]
        {
            info.fs_fault = machine::fs_fault_injection();
        }
        info.name[..inst.cfg.name.len()].copy_from_slice(inst.cfg.name.as_bytes());
        let init = inst.cfg.init.as_deref().unwrap_or("/bin/sh").as_bytes();
        if init.len() > INIT_MAX {
            return Err(format!("its init is longer than {INIT_MAX} bytes"));
        }
        info.init[..init.len()].copy_from_slice(init);
        info.init_len = init.len() as u64;
        let mine = self.config.channels_of(i);
        for (k, &(c, _)) in mine.iter().enumerate() {
            let name = self.config.channels[c].name.as_bytes();
            info.channel_names[k][..name.len()].copy_from_slice(name);
        }
        info.channels = mine.len() as u64;
        let my_shares = self.shares_of(i);
        for (k, &s) in my_shares.iter().enumerate() {
            let name = self.config.shares[s].name.as_bytes();
            info.share_names[k][..name.len()].copy_from_slice(name);
        }
        info.shares = my_shares.len() as u64;
        let info_page = new_page()?;
        info_page.write(0, bytes_of(&info));
        space.map_page(INFO, &info_page, RO).map_err(oom)?;
        let ipc = CachePage::new().map_err(|_| "out of memory")?;
        let ipc_cap = ipc.cap();
        let ipc: PageRef = Rc::new(ipc);
        space.map_page(IPC_BUFFER, &ipc, RW).map_err(oom)?;
        let console_page = new_page()?;
        space
            .map_page(CONSOLE_PAGE, &console_page, RW)
            .map_err(oom)?;
        // The file tree and its own files, read-only from the root task's
        // own image.
        self.map_image(&mut space, crate::run::ROOTFS, ROOTFS)?;
        if let Some(own) = TREES.get(i).filter(|t| !t.is_empty()) {
            self.map_image(&mut space, own, TREE)?;
        }
        // The channels' rings: its out-ring, then its in-ring.
        for (k, &(c, _)) in mine.iter().enumerate() {
            let ch = &self.chans[c];
            let me = if ch.ends[0] == i { 0 } else { 1 };
            let base = CHANNELS + k as u64 * CHANNEL_STRIDE;
            for (r, at) in [(me, base), (1 - me, base + RING_PAGES * PAGE)] {
                for (p, pg) in ch.rings[r].iter().enumerate() {
                    space.map_page(at + p as u64 * PAGE, pg, RW).map_err(oom)?;
                }
            }
        }
        // Its buffers with the net task.
        if let Some((req, resp)) = self.net_buffers(i) {
            for (p, pg) in req.iter().enumerate() {
                space
                    .map_page(NET_REQUEST + p as u64 * PAGE, pg, RW)
                    .map_err(oom)?;
            }
            for (p, pg) in resp.iter().enumerate() {
                space
                    .map_page(NET_RESPONSE + p as u64 * PAGE, pg, RO)
                    .map_err(oom)?;
            }
        }
        // Its buffers with the shared file systems.
        for (k, &sh) in my_shares.iter().enumerate() {
            if let Some((req, resp)) = self.shares[sh].buffers[i].as_ref() {
                let at = SHARES + k as u64 * SHARE_STRIDE;
                for (p, pg) in req.iter().enumerate() {
                    space.map_page(at + p as u64 * PAGE, pg, RW).map_err(oom)?;
                }
                for (p, pg) in resp.iter().enumerate() {
                    space
                        .map_page(at + SHARE_RESPONSE + p as u64 * PAGE, pg, RO)
                        .map_err(oom)?;
                }
            }
        }
        // The block task's buffers, which its ext2 task maps.
        let mut disk_caps = Vec::new();
        if let Some(d) = self.disk.as_ref().filter(|_| self.insts[i].cfg.disk) {
            let (_, req, resp) = d.peer();
            for (k, (pg, writable)) in req
                .iter()
                .map(|p| (p, true))
                .chain(resp.iter().map(|p| (p, false)))
                .enumerate()
            {
                let perms = if writable { RW } else { RO };
                space
                    .map_page(DISK_BUFS + k as u64 * PAGE, pg, perms)
                    .map_err(oom)?;
                let any: &dyn core::any::Any = &**pg;
                let cap = any
                    .downcast_ref::<CachePage>()
                    .ok_or("the block task's buffers are not frames")?
                    .cap();
                disk_caps.push(cap);
            }
        }
        // Its CSpace, laid out like the root task's.
        let inst = &self.insts[i];
        let cnode = inst.cnode;
        // Copies of the root task's caps, minted with a badge (or the
        // CNode's guard) when given: an already badged capability can only
        // be copied.
        let put = |slot: u64, cap: CPtr, badge: Option<u64>| -> Result<(), String> {
            match badge {
                Some(b) => invoke::cnode_mint(
                    cnode,
                    slot,
                    CNODE_BITS,
                    seL4_CapInitThreadCNode,
                    cap,
                    DEPTH,
                    CapRights::ALL,
                    b,
                ),
                None => invoke::cnode_copy(
                    cnode,
                    slot,
                    CNODE_BITS,
                    seL4_CapInitThreadCNode,
                    cap,
                    DEPTH,
                    CapRights::ALL,
                ),
            }
            .map_err(sel4)
        };
        let guard = (64 - CNODE_BITS) << 2;
        put(seL4_CapInitThreadTCB, inst.tcb, None)?;
        put(seL4_CapInitThreadCNode, cnode, Some(guard))?;
        put(seL4_CapInitThreadVSpace, space.pml4, None)?;
        put(seL4_CapInitThreadASIDPool, inst.asid_pool, None)?;
        put(ROOT_EP, self.ep, Some(i as u64 + 1))?;
        put(FAULT_EP, self.ep, Some(FAULT_BADGE | (i as u64 + 1)))?;
        put(NOTIFICATION, inst.ntfn, None)?;
        if self.net_buffers(i).is_some() {
            if let Some(ep) = self.net_endpoint() {
                put(NET_EP, ep, Some(i as u64 + 1))?;
            }
        }
        for (k, &(_, peer)) in mine.iter().enumerate() {
            put(CHANNEL_NTFN + k as u64, self.insts[peer].sig_channel, None)?;
        }
        if let Some(d) = self.disk.as_ref().filter(|_| inst.cfg.disk) {
            put(DISK_EP, d.peer().0, None)?;
            for (k, &cap) in disk_caps.iter().enumerate() {
                put(DISK_FRAMES + k as u64, cap, None)?;
            }
        }
        for (k, &sh) in my_shares.iter().enumerate() {
            let ep = self.shares[sh].task.endpoint_and_buffers().0;
            put(SHARE_EPS + k as u64, ep, Some(i as u64 + 1))?;
        }
        for (k, &(cap, _)) in inst.chunks.iter().enumerate() {
            put(FIRST_UNTYPED + k as u64, cap, None)?;
        }
        let tcb = inst.tcb;
        invoke::tcb_configure(
            tcb, FAULT_EP, cnode, guard, space.pml4, 0, IPC_BUFFER, ipc_cap,
        )
        .and_then(|_| invoke::tcb_set_mc_priority(tcb, PRIORITY))
        .and_then(|_| invoke::tcb_set_priority(tcb, PRIORITY))
        .map_err(sel4)?;
        let mut regs = [0u64; 19];
        regs[0] = plan.entry;
        regs[2] = 0x202;
        regs[8] = BOOTINFO;
        let inst = &mut self.insts[i];
        inst.space = Some(space);
        inst.console_page = Some(console_page);
        inst.deadline = 0;
        inst.state = State::Running;
        invoke::tcb_write_registers(tcb, true, 0, &regs).map_err(sel4)
    }

    /// Stops instance `i` and takes back everything it had: its pool's
    /// objects (revoked), its CSpace's capabilities and its image.
    fn stop(&mut self, i: usize) {
        let inst = &mut self.insts[i];
        let _ = invoke::tcb_suspend(inst.tcb);
        for &(cap, _) in &inst.chunks {
            if let Err(e) = invoke::cnode_revoke(seL4_CapInitThreadCNode, cap, DEPTH) {
                println!("selkie: cannot revoke a pool of {}: {e}", inst.cfg.name);
            }
        }
        // Every object the instance made is gone: each piece of its pool
        // can be cut whole again (seL4 retypes an untyped with no children
        // from its start).
        let a = objects::get();
        let whole = inst.chunks.iter().all(|&(cap, bits)| {
            let Ok(slot) = a.alloc_slot() else {
                return false;
            };
            let ok = invoke::untyped_retype(
                cap,
                seL4_UntypedObject,
                bits as u64,
                seL4_CapInitThreadCNode,
                0,
                0,
                slot,
                1,
            )
            .is_ok();
            a.delete_slot(slot);
            ok
        });
        let (name, mib) = (inst.cfg.name.clone(), inst.cfg.memory >> 20);
        if whole {
            self.say(format_args!(
                "instance {name} stopped: its {mib} MiB are free again"
            ));
        } else {
            self.say(format_args!(
                "instance {name} stopped, but not all of its memory came back"
            ));
        }
        let inst = &mut self.insts[i];
        for slot in 0..1u64 << CNODE_BITS {
            let _ = invoke::cnode_delete(inst.cnode, slot, CNODE_BITS);
        }
        inst.space = None;
        inst.console_page = None;
        // The net task forgets its sockets.
        #[cfg(not(feature = "net-inproc"))]
        if let Some(net) = self.net.as_mut() {
            if net.buffers.get(i).is_some_and(|b| b.is_some())
                && net
                    .task
                    .control(DROP_CLIENT, [i as u64 + 1, 0, 0, 0])
                    .is_err()
            {
                println!("selkie: the net task is gone");
            }
        }
        let inst = &mut self.insts[i];
        inst.deadline = 0;
        inst.input.clear();
        if self.open_line == Some(i) {
            self.close_line();
        }
    }

    /// Instance `i` has ended for good: the other end of each of its
    /// channels reads to the end of what it wrote, then end-of-file.
    fn close_channels(&mut self, i: usize) {
        for (c, peer) in self.config.channels_of(i) {
            let ch = &self.chans[c];
            let me = if ch.ends[0] == i { 0 } else { 1 };
            ch.rings[me][0].write(16, &1u64.to_le_bytes());
            signal(self.insts[peer].sig_channel);
        }
    }

    /// Instance `i` failed (`why`): stopped, and started again if its
    /// policy says so.
    fn failed(&mut self, i: usize, why: &str) {
        let name = self.insts[i].cfg.name.clone();
        self.say(format_args!("instance {name} {why}"));
        self.stop(i);
        let inst = &mut self.insts[i];
        if inst.cfg.restart == Restart::OnFailure && inst.restarts < selkie_config::MAX_RESTARTS {
            inst.restarts += 1;
            let k = inst.restarts;
            let _ = inst;
            self.say(format_args!(
                "instance {name} restarts ({k} of {})",
                selkie_config::MAX_RESTARTS
            ));
            if let Err(e) = self.start(i) {
                self.say(format_args!("instance {name} cannot start again: {e}"));
                self.stop(i);
                self.insts[i].state = State::Failed;
                self.close_channels(i);
            }
        } else {
            self.insts[i].state = State::Failed;
            self.close_channels(i);
            self.say(format_args!("instance {name} is down; the others go on"));
        }
    }

    /// Signals every instance whose deadline has come and arms the PIT for
    /// the next.
    fn timers(&mut self) {
        let now = machine::monotonic_ns();
        let mut next = u64::MAX;
        for inst in &mut self.insts {
            if inst.deadline == 0 || inst.state != State::Running {
                continue;
            }
            if inst.deadline <= now {
                inst.deadline = 0;
                signal(inst.sig_timer);
            } else {
                next = next.min(inst.deadline);
            }
        }
        if next != u64::MAX {
            machine::arm_timer(next - now);
        }
    }

    /// Console input for the instance that reads the console.
    fn console_input(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            let n = console::read_available(&mut buf);
            if n == 0 {
                break;
            }
            if let Some(inst) = self
                .insts
                .iter_mut()
                .find(|x| x.cfg.console && x.state == State::Running)
            {
                let room = INPUT_MAX - inst.input.len().min(INPUT_MAX);
                inst.input.extend(&buf[..n.min(room)]);
                signal(inst.sig_console);
            }
        }
        console::ack_irq();
    }

    /// The first `len` bytes of instance `i`'s console page (at most a
    /// page).
    fn console_page_text(&self, i: usize, len: u64) -> Option<Vec<u8>> {
        let mut buf = alloc::vec![0u8; (len as usize).min(PAGE as usize)];
        self.insts[i].console_page.as_ref()?.read(0, &mut buf);
        Some(buf)
    }

    /// Handles a Call of running instance `i`; returns its answer, if it
    /// gets one.
    fn request(&mut self, i: usize, label: u64, mrs: syscall::Mrs) -> Option<syscall::Mrs> {
        match label {
            CONSOLE_WRITE => {
                let text = self.console_page_text(i, mrs[0])?;
                self.console_text(i, &text);
                Some([0; 4])
            }
            CONSOLE_READ => {
                let inst = &mut self.insts[i];
                let n = inst.input.len().min(PAGE as usize);
                let bytes: Vec<u8> = inst.input.drain(..n).collect();
                inst.console_page.as_ref()?.write(0, &bytes);
                Some([n as u64, 0, 0, 0])
            }
            TIMER_ARM => {
                self.insts[i].deadline = mrs[0];
                self.timers();
                Some([0; 4])
            }
            EXIT => {
                let status = mrs[0] as u8;
                let name = self.insts[i].cfg.name.clone();
                self.say(format_args!("instance {name} exited with status {status}"));
                self.stop(i);
                self.insts[i].state = State::Exited(status);
                self.close_channels(i);
                None
            }
            PANIC => {
                let buf = self.console_page_text(i, mrs[0])?;
                // On one line ("panicked at FILE:LINE:COL: message").
                let msg = String::from_utf8_lossy(&buf).replace('\n', " ");
                self.failed(i, &format!("panicked: {msg}"));
                None
            }
            other => {
                self.failed(i, &format!("sent an unknown request {other}"));
                None
            }
        }
    }

    /// 0 when every instance's commands exited 0; else the first other
    /// status (1 for an instance that failed).
    fn status(&self) -> Option<u8> {
        let mut status = 0;
        for inst in &self.insts {
            match inst.state {
                State::Running => return None,
                State::Exited(s) if status == 0 => status = s,
                State::Failed if status == 0 => status = 1,
                _ => {}
            }
        }
        Some(status)
    }

    fn serve(&mut self) -> ! {
        let mut answer: Option<syscall::Mrs> = None;
        loop {
            if let Some(status) = self.status() {
                self.say(format_args!("halt {status}"));
                machine::exit_qemu(status);
            }
            let (badge, info, mrs) = match answer.take() {
                Some(m) => syscall::reply_recv(self.ep, MessageInfo::new(0, 0, 0, 4), m),
                None => syscall::recv(self.ep),
            };
            if badge & (BADGE_CONSOLE_IRQ | BADGE_TIMER_IRQ) != 0 {
                if badge & BADGE_TIMER_IRQ != 0 {
                    machine::ack_timer();
                    self.timers();
                }
                if badge & BADGE_CONSOLE_IRQ != 0 {
                    self.console_input();
                }
                continue;
            }
            let i = (badge & 0xff) as usize;
            if i == 0 || i > self.insts.len() || self.insts[i - 1].state != State::Running {
                self.say(format_args!(
                    "a message from no running instance ({badge:#x})"
                ));
                continue;
            }
            let i = i - 1;
            if badge & FAULT_BADGE != 0 {
                let why = match info.label() {
                    seL4_Fault_VMFault => {
                        format!("faulted: page fault at {:#x}, ip {:#x}", mrs[1], mrs[0])
                    }
                    seL4_Fault_UserException => {
                        format!("faulted: CPU exception at ip {:#x}", mrs[0])
                    }
                    l => format!("faulted (seL4 fault {l})"),
                };
                self.failed(i, &why);
                continue;
            }
            answer = self.request(i, info.label(), mrs);
        }
    }
}

/// Cuts every instance's pool from the root task's untyped memory as
/// `selkie_config::plan` places the pieces, keeping `reserve` bytes for the
/// root task (the instances' images and heaps, its own objects).
fn carve_pools(config: &Config, reserve: u64) -> Result<Vec<Vec<(CPtr, u8)>>, String> {
    let a = objects::get();
    let regions: Vec<selkie_config::Untyped> = a
        .regions()
        .into_iter()
        .map(|(size_bits, used)| selkie_config::Untyped { size_bits, used })
        .collect();
    let quotas: Vec<u64> = config.instances.iter().map(|i| i.memory).collect();
    let (order, _) = selkie_config::plan(&regions, &quotas, reserve).map_err(|e| match e {
        selkie_config::PlanError::NoRoom {
            instance,
            chunk_bits,
        } => format!(
            "no untyped region has room for {} MiB more of instance {}'s {} MiB",
            (1u64 << chunk_bits) >> 20,
            config.instances[instance].name,
            config.instances[instance].memory >> 20
        ),
        other => format!("{other}"),
    })?;
    let mut pools = alloc::vec![Vec::new(); quotas.len()];
    for c in order {
        let cap = a
            .carve(c.parent, c.size_bits)
            .map_err(|e| format!("cannot cut {} MiB: {e}", (1u64 << c.size_bits) >> 20))?;
        pools[c.instance].push((cap, c.size_bits));
    }
    Ok(pools)
}

/// Bytes of a shared file system's heap besides its files.
const SHARE_OVERHEAD: u64 = 8 << 20;

/// Starts the task of shared file system `sh` (of a configuration of
/// `instances`): its heap and each member's buffers.
#[cfg(not(feature = "fs-inproc"))]
fn start_share(sh: &selkie_config::Share, instances: usize) -> Result<SharedFs, String> {
    let page = || -> Result<PageRef, String> {
        Ok(Rc::new(CachePage::new().map_err(|_| "out of memory")?))
    };
    let pages = |n: u64| (0..n).map(|_| page()).collect::<Result<Vec<_>, _>>();
    let heap = pages((sh.size + SHARE_OVERHEAD) / PAGE)?;
    let mut buffers = Vec::new();
    for i in 0..instances {
        buffers.push(match sh.members.contains(&i) {
            true => Some((
                pages(selkie_sel4::service::BUF_PAGES)?,
                pages(selkie_sel4::service::BUF_PAGES)?,
            )),
            false => None,
        });
    }
    let task = crate::fstask::shared(sh.size, &heap, &buffers)?;
    Ok(SharedFs { task, buffers })
}

#[cfg(feature = "fs-inproc")]
fn start_share(_: &selkie_config::Share, _: usize) -> Result<SharedFs, String> {
    Err("instances run their file systems in tasks: not with fs-inproc".into())
}

/// The objects an instance keeps across restarts.
fn make_inst(cfg: &selkie_config::Instance, chunks: Vec<(CPtr, u8)>) -> Result<Inst, String> {
    let a = objects::get();
    let tcb = a.alloc_object(seL4_TCBObject, 0).map_err(sel4)?;
    let cnode = a
        .alloc_object(seL4_CapTableObject, CNODE_BITS)
        .map_err(sel4)?;
    let ntfn = a.alloc_object(seL4_NotificationObject, 0).map_err(sel4)?;
    invoke::tcb_bind_notification(tcb, ntfn).map_err(sel4)?;
    // An ASID pool of its own for its processes' address spaces (x86_64
    // has 8 pools; past them, the instance shares the root task's).
    let asid_pool = a
        .alloc_object(seL4_UntypedObject, 12)
        .and_then(|ut| {
            let slot = a.alloc_slot()?;
            invoke::asid_control_make_pool(
                seL4_CapASIDControl,
                ut,
                seL4_CapInitThreadCNode,
                slot,
                DEPTH,
            )
            .map(|_| slot)
        })
        .unwrap_or(seL4_CapInitThreadASIDPool);
    Ok(Inst {
        cfg: cfg.clone(),
        chunks,
        tcb,
        cnode,
        ntfn,
        asid_pool,
        sig_console: objects::mint_badged(ntfn, BADGE_CONSOLE).map_err(sel4)?,
        sig_timer: objects::mint_badged(ntfn, BADGE_TIMER).map_err(sel4)?,
        sig_channel: objects::mint_badged(ntfn, BADGE_CHANNEL).map_err(sel4)?,
        sig_net: objects::mint_badged(ntfn, BADGE_NET).map_err(sel4)?,
        space: None,
        console_page: None,
        deadline: 0,
        state: State::Running,
        restarts: 0,
        input: VecDeque::new(),
    })
}

/// Starts every instance of `config` and looks after them until all have
/// ended.
pub fn run(bi: &BootInfo, config: Config) -> ! {
    if crate::run::setup_interrupts().is_none() {
        println!("selkie: no interrupts: instances cannot have a timer");
        machine::exit_qemu(125);
    }
    let ep = match objects::get().alloc_object(seL4_EndpointObject, 0) {
        Ok(ep) => ep,
        Err(e) => {
            println!("selkie: cannot create the instances' endpoint: {e}");
            machine::exit_qemu(125);
        }
    };
    println!(
        "selkie: {} instances, {} channels",
        config.instances.len(),
        config.channels.len()
    );
    // What the root task needs besides the pools: per instance its image
    // and heap, its CNode and some, and 16 MiB for itself.
    let image = plan_image(INSTANCE_ELF, BOOTINFO).map_or(0, |p| p.pages().len() as u64 * PAGE);
    let shares: u64 = config.shares.iter().map(|s| s.size + SHARE_OVERHEAD).sum();
    let reserve = (16 << 20) + config.instances.len() as u64 * (image + (4 << 20)) + shares;
    let pools = match carve_pools(&config, reserve) {
        Ok(p) => p,
        Err(e) => {
            println!("selkie: the instances' memory does not fit: {e}");
            machine::exit_qemu(125);
        }
    };
    let mut insts = Vec::new();
    for (cfg, chunks) in config.instances.iter().zip(pools) {
        match make_inst(cfg, chunks) {
            Ok(inst) => insts.push(inst),
            Err(e) => {
                println!("selkie: cannot set up instance {}: {e}", cfg.name);
                machine::exit_qemu(125);
            }
        }
    }
    let mut chans = Vec::new();
    for ch in &config.channels {
        let ring = || -> Option<Vec<PageRef>> {
            (0..RING_PAGES)
                .map(|_| CachePage::new().ok().map(|p| Rc::new(p) as PageRef))
                .collect()
        };
        let (Some(r0), Some(r1)) = (ring(), ring()) else {
            println!("selkie: no memory for channel {}", ch.name);
            machine::exit_qemu(125);
        };
        chans.push(Chan {
            ends: ch.ends,
            rings: [r0, r1],
        });
    }
    // The net task the instances with `network = true` share (its faults
    // go to the supervisor).
    if insts.iter().any(|x| x.cfg.network || x.cfg.disk) || !config.shares.is_empty() {
        if let Err(e) = selkie_task::supervisor::init() {
            println!("selkie: cannot start the service supervisor: {e}");
            machine::exit_qemu(125);
        }
    }
    // The block task, for the instance with the disk.
    let disk = match insts.iter().find(|x| x.cfg.disk) {
        Some(x) => {
            let d = crate::blk::start();
            match &d {
                Some(d) => println!(
                    "selkie: /dev/vda ({} MiB) for instance {}",
                    d.size() >> 20,
                    x.cfg.name
                ),
                None => println!("selkie: no disk for instance {}", x.cfg.name),
            }
            d
        }
        None => None,
    };
    // The shared file systems' tasks.
    let mut shares = Vec::new();
    for sh in &config.shares {
        match start_share(sh, config.instances.len()) {
            Ok(s) => {
                println!(
                    "selkie: share {} ({} MiB) for {}",
                    sh.name,
                    sh.size >> 20,
                    sh.members
                        .iter()
                        .map(|&m| config.instances[m].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                shares.push(s)
            }
            Err(e) => {
                println!("selkie: share {}: {e}", sh.name);
                machine::exit_qemu(125);
            }
        }
    }
    #[cfg(not(feature = "net-inproc"))]
    let net = if insts.iter().any(|x| x.cfg.network) {
        let clients: Vec<Option<CPtr>> = insts
            .iter()
            .map(|x| x.cfg.network.then_some(x.sig_net))
            .collect();
        crate::net::shared_network(&clients)
    } else {
        None
    };
    let mut host = Host {
        config,
        insts,
        chans,
        ep,
        image_frames: bi.user_image_frames,
        open_line: None,
        #[cfg(not(feature = "net-inproc"))]
        net,
        disk,
        shares,
    };
    for i in 0..host.insts.len() {
        let inst = &host.insts[i];
        let sizes: Vec<String> = inst
            .chunks
            .iter()
            .map(|&(_, b)| format!("{}", (1u64 << b) >> 20))
            .collect();
        println!(
            "selkie: instance {}: {} MiB ({} MiB untyped), init: {}",
            inst.cfg.name,
            inst.cfg.memory >> 20,
            sizes.join("+"),
            inst.cfg.init.as_deref().unwrap_or("/bin/sh")
        );
        if let Err(e) = host.start(i) {
            let name = host.insts[i].cfg.name.clone();
            host.say(format_args!("instance {name} cannot start: {e}"));
            host.stop(i);
            host.insts[i].state = State::Failed;
            host.close_channels(i);
        }
    }
    host.serve()
}
