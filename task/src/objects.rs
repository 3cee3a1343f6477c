//! The object allocator: the root task owns every untyped and hands out seL4
//! objects, cap slots and frames from them.
//!
//! - Untyped memory is split with a watermark per untyped (smallest untyped
//!   that fits first, so big untypeds are zeroed by the kernel only when needed).
//! - Cap slots come from the root CNode's empty region; freed slots are reused.
//! - Freed objects go to per-type free lists and are reused before new memory
//!   is retyped (seL4 returns memory to an untyped only when all of it is
//!   revoked, so reuse is what keeps a long-running LibOS from leaking).
//! - Every frame is also mapped once in the root task's own address space (the
//!   frame window) so the LibOS can copy to and from user memory directly.
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use selkie_sel4::bootinfo::BootInfo;
use selkie_sel4::{consts::*, invoke, CPtr, CapRights, Error};

/// Depth of a root-CNode cap address (the whole word).
pub const DEPTH: u64 = 64;
/// Start of the frame window in the root task's address space (64 GiB).
const WINDOW_BASE: u64 = 0x10_0000_0000;

struct Untyped {
    cap: CPtr,
    size_bits: u8,
    /// Bytes used so far (objects are naturally aligned inside).
    used: u64,
}

/// A 4 KiB frame with its address in the root task's window.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub cap: CPtr,
    pub window: u64,
}

/// Counters for leak checks and diagnostics.
#[derive(Default, Clone, Copy, Debug)]
pub struct Stats {
    pub frames_total: u64,
    pub frames_free: u64,
    pub slots_used: u64,
    /// Objects handed out by alloc_object and not given back (frames count
    /// from their creation on: they return to their own pool).
    pub objects_live: u64,
    /// Paging structures made to map frames in the root task's window.
    pub window_tables: u64,
}

/// What is held outside the allocator's pools: with no process left, this
/// is the root task's own baseline, and anything above it leaked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub objects: u64,
    pub slots: u64,
}

pub struct ObjectAllocator {
    untypeds: Vec<Untyped>,
    next_slot: u64,
    end_slot: u64,
    free_slots: Vec<CPtr>,
    free_frames: Vec<Frame>,
    free_objects: BTreeMap<(u64, u64), Vec<CPtr>>,
    next_window: u64,
    /// Untyped bytes that only non-frame objects may use.
    reserve: u64,
    pub stats: Stats,
    /// What the heaps of live service tasks hold (they grow on demand and
    /// never shrink; the task gives it all back when it stops), left out of
    /// [`Self::held`].
    pub task_heaps: Held,
}

static mut ALLOCATOR: Option<ObjectAllocator> = None;

/// The root task's allocator (single-threaded: one mutable user at a time).
pub fn get() -> &'static mut ObjectAllocator {
    // SAFETY: the root task has one thread and never holds two references
    // across a call that could reenter; initialised in `init`.
    unsafe {
        (*core::ptr::addr_of_mut!(ALLOCATOR))
            .as_mut()
            .expect("allocator not initialised")
    }
}

/// A copy of capability `cap` (an endpoint or a notification) in a new
/// slot, with `badge`.
pub fn mint_badged(cap: CPtr, badge: u64) -> Result<CPtr, Error> {
    let a = get();
    let slot = a.alloc_slot()?;
    invoke::cnode_mint(
        seL4_CapInitThreadCNode,
        slot,
        DEPTH,
        seL4_CapInitThreadCNode,
        cap,
        DEPTH,
        CapRights::ALL,
        badge,
    )
    .inspect_err(|_| a.free_slot(slot))?;
    Ok(slot)
}

/// Takes ownership of every non-device untyped and the empty slots.
pub fn init(bi: &BootInfo) {
    let ut = bi.untyped;
    let list = bi.untyped_list;
    let mut untypeds = Vec::new();
    let mut total = 0u64;
    for (i, cap) in (ut.start..ut.end).enumerate() {
        let d = list[i];
        if d.is_device == 0 {
            untypeds.push(Untyped {
                cap,
                size_bits: d.size_bits,
                used: 0,
            });
            total += 1 << d.size_bits;
        }
    }
    untypeds.sort_by_key(|u| u.size_bits);
    let empty = bi.empty;
    println!(
        "selkie: {} MiB of untyped memory, {} free cap slots",
        total >> 20,
        empty.end - empty.start
    );
    // SAFETY: single-threaded boot.
    unsafe {
        ALLOCATOR = Some(ObjectAllocator {
            untypeds,
            next_slot: empty.start,
            end_slot: empty.end,
            free_slots: Vec::new(),
            free_frames: Vec::new(),
            free_objects: BTreeMap::new(),
            next_window: WINDOW_BASE,
            reserve: total / 32,
            stats: Stats::default(),
            task_heaps: Held::default(),
        });
    }
}

/// Size in bits of an object of `obj_type` (retype parameter `param`).
fn object_bits(obj_type: u64, param: u64) -> u64 {
    match obj_type {
        seL4_TCBObject => seL4_TCBBits,
        seL4_EndpointObject => seL4_EndpointBits,
        seL4_NotificationObject => seL4_NotificationBits,
        seL4_CapTableObject => param + seL4_SlotBits,
        seL4_UntypedObject => param,
        _ => seL4_PageBits, // frames and paging structures
    }
}

/// The error returned when memory runs out.
pub const NO_MEMORY: Error = Error {
    code: seL4_NotEnoughMemory,
    label: UntypedRetype,
};

impl ObjectAllocator {
    /// Objects and cap slots in use outside the pools.
    pub fn held(&self) -> Held {
        let pooled: u64 = self.free_objects.values().map(|l| l.len() as u64).sum();
        let kept = self.stats.frames_free + self.stats.window_tables;
        Held {
            objects: self.stats.objects_live - kept - self.task_heaps.objects,
            slots: self.stats.slots_used - pooled - kept - self.task_heaps.slots,
        }
    }

    /// KiB of untyped memory ever retyped into objects: freed objects are
    /// kept for reuse, never returned to untyped, so this is the high-water
    /// mark of what processes and the LibOS's own objects have held at once.
    pub fn peak_kb(&self) -> u64 {
        self.untypeds.iter().map(|u| u.used).sum::<u64>() / 1024
    }

    /// (total, free) KiB of the pool: untyped frames may still take plus
    /// pooled frames.
    pub fn memory_kb(&self) -> (u64, u64) {
        let total: u64 = self.untypeds.iter().map(|u| 1u64 << u.size_bits).sum();
        // Free for processes: pooled frames and the untyped frames may take.
        let unused = self.untyped_left().saturating_sub(self.reserve);
        (
            total / 1024,
            (unused + self.stats.frames_free * 4096) / 1024,
        )
    }

    /// A free slot in the root CNode.
    pub fn alloc_slot(&mut self) -> Result<CPtr, Error> {
        self.stats.slots_used += 1;
        if let Some(s) = self.free_slots.pop() {
            return Ok(s);
        }
        if self.next_slot >= self.end_slot {
            self.stats.slots_used -= 1;
            return Err(Error {
                code: seL4_NotEnoughMemory,
                label: CNodeCopy,
            });
        }
        self.next_slot += 1;
        Ok(self.next_slot - 1)
    }

    /// Returns an empty slot.
    pub fn free_slot(&mut self, slot: CPtr) {
        self.stats.slots_used -= 1;
        self.free_slots.push(slot);
    }

    /// Deletes the cap in `slot` and frees the slot.
    pub fn delete_slot(&mut self, slot: CPtr) {
        let _ = invoke::cnode_delete(seL4_CapInitThreadCNode, slot, DEPTH);
        self.free_slot(slot);
    }

    /// A new object (reused from the free list when possible).
    pub fn alloc_object(&mut self, obj_type: u64, param: u64) -> Result<CPtr, Error> {
        self.alloc_object_reused(obj_type, param)
            .map(|(cap, _)| cap)
    }

    /// Like [`Self::alloc_object`], also telling whether the object was reused.
    pub fn alloc_object_reused(
        &mut self,
        obj_type: u64,
        param: u64,
    ) -> Result<(CPtr, bool), Error> {
        if let Some(cap) = self
            .free_objects
            .get_mut(&(obj_type, param))
            .and_then(|l| l.pop())
        {
            self.stats.objects_live += 1;
            return Ok((cap, true));
        }
        let cap = self.retype(obj_type, param)?;
        self.stats.objects_live += 1;
        Ok((cap, false))
    }

    fn retype(&mut self, obj_type: u64, param: u64) -> Result<CPtr, Error> {
        let slot = self.alloc_slot()?;
        let bits = object_bits(obj_type, param);
        let size = 1u64 << bits;
        for u in self.untypeds.iter_mut() {
            if (u.size_bits as u64) < bits {
                continue;
            }
            let start = (u.used + size - 1) & !(size - 1);
            if start + size > 1u64 << u.size_bits {
                continue;
            }
            match invoke::untyped_retype(
                u.cap,
                obj_type,
                param,
                seL4_CapInitThreadCNode,
                0,
                0,
                slot,
                1,
            ) {
                Ok(()) => {
                    u.used = start + size;
                    return Ok(slot);
                }
                Err(e) if e.is_not_enough_memory() => {
                    u.used = 1 << u.size_bits;
                }
                Err(e) => {
                    self.free_slot(slot);
                    return Err(e);
                }
            }
        }
        self.free_slot(slot);
        Err(NO_MEMORY)
    }

    /// The untyped regions as (size in bits, bytes handed out), in the
    /// order [`Self::carve`] numbers them.
    pub fn regions(&self) -> Vec<(u8, u64)> {
        self.untypeds
            .iter()
            .map(|u| (u.size_bits, u.used))
            .collect()
    }

    /// An untyped object of 2^`bits` bytes cut from region `index` at its
    /// next aligned place (a piece of an instance's pool, as
    /// `selkie_config::plan` placed it).
    pub fn carve(&mut self, index: usize, bits: u8) -> Result<CPtr, Error> {
        let size = 1u64 << bits;
        let u = self.untypeds.get(index).ok_or(NO_MEMORY)?;
        let start = u.used.div_ceil(size) * size;
        if u.size_bits < bits || start + size > 1u64 << u.size_bits {
            return Err(NO_MEMORY);
        }
        let slot = self.alloc_slot()?;
        let cap = self.untypeds[index].cap;
        if let Err(e) = invoke::untyped_retype(
            cap,
            seL4_UntypedObject,
            bits as u64,
            seL4_CapInitThreadCNode,
            0,
            0,
            slot,
            1,
        ) {
            self.free_slot(slot);
            return Err(e);
        }
        self.untypeds[index].used = start + size;
        self.stats.objects_live += 1;
        Ok(slot)
    }

    /// Puts an object (whose cap we keep) back for reuse.
    pub fn free_object(&mut self, obj_type: u64, param: u64, cap: CPtr) {
        self.stats.objects_live -= 1;
        self.free_objects
            .entry((obj_type, param))
            .or_default()
            .push(cap);
    }

    /// Bytes of untyped memory not yet retyped.
    fn untyped_left(&self) -> u64 {
        self.untypeds
            .iter()
            .map(|u| (1u64 << u.size_bits).saturating_sub(u.used))
            .sum()
    }

    /// A zero-filled 4 KiB frame, mapped in the root task's window.
    ///
    /// Frames go back to their own pool, never to untyped memory, so new
    /// ones leave a reserve of untyped (1/32 of it) for the objects a frame
    /// cannot become: paging structures, TCBs, CNodes. Without it, one
    /// process that took all memory would leave the pool full of frames and
    /// no way to build another address space.
    pub fn alloc_frame(&mut self) -> Result<Frame, Error> {
        if let Some(f) = self.free_frames.pop() {
            self.stats.frames_free -= 1;
            // SAFETY: the window page is mapped read-write for us and unused.
            unsafe { core::ptr::write_bytes(f.window as *mut u8, 0, 4096) };
            return Ok(f);
        }
        if self.untyped_left() < self.reserve {
            return Err(NO_MEMORY);
        }
        let cap = self.alloc_object(seL4_X86_4K, 0)?;
        let window = self.next_window;
        let mut made = Vec::new();
        let mapped = map_page(
            self,
            cap,
            seL4_CapInitThreadVSpace,
            window,
            CapRights::RW,
            &mut made,
        );
        // Page tables of the window stay for good, like the frames' pool.
        self.stats.window_tables += made.len() as u64;
        if let Err(e) = mapped {
            // The frame is destroyed with its only cap.
            self.stats.objects_live -= 1;
            self.delete_slot(cap);
            return Err(e);
        }
        self.next_window += 4096;
        self.stats.frames_total += 1;
        Ok(Frame { cap, window })
    }

    /// Returns a frame for reuse (it stays mapped in the window).
    pub fn free_frame(&mut self, f: Frame) {
        self.stats.frames_free += 1;
        self.free_frames.push(f);
    }
}

/// A paging structure created while mapping: (cap, object type).
pub type Structure = (CPtr, u64);

/// Maps `frame` at `va` in `vroot`, creating missing paging structures (which
/// are appended to `made` so that their owner can free them).
pub fn map_page(
    a: &mut ObjectAllocator,
    frame: CPtr,
    vroot: CPtr,
    va: u64,
    rights: CapRights,
    made: &mut Vec<Structure>,
) -> Result<(), Error> {
    for _ in 0..4 {
        match invoke::page_map(frame, vroot, va, rights, seL4_X86_Default_VMAttributes) {
            Ok(()) => return Ok(()),
            Err(e) if e.code == seL4_FailedLookup => add_level(a, vroot, va, made)?,
            Err(e) => return Err(e),
        }
    }
    Err(Error {
        code: seL4_FailedLookup,
        label: X86PageMap,
    })
}

/// Adds the deepest missing paging structure above `va`.
fn add_level(
    a: &mut ObjectAllocator,
    vroot: CPtr,
    va: u64,
    made: &mut Vec<Structure>,
) -> Result<(), Error> {
    type MapFn = fn(CPtr, CPtr, u64, u64) -> selkie_sel4::Result<()>;
    let levels: [(u64, MapFn); 3] = [
        (seL4_X86_PageTableObject, invoke::page_table_map),
        (seL4_X86_PageDirectoryObject, invoke::page_directory_map),
        (seL4_X86_PDPTObject, invoke::pdpt_map),
    ];
    for (ty, map) in levels {
        let cap = a.alloc_object(ty, 0)?;
        match map(cap, vroot, va, seL4_X86_Default_VMAttributes) {
            Ok(()) => {
                made.push((cap, ty));
                return Ok(());
            }
            Err(e) if e.code == seL4_FailedLookup => {
                a.free_object(ty, 0, cap);
                continue;
            }
            Err(e) => {
                a.free_object(ty, 0, cap);
                return Err(e);
            }
        }
    }
    Err(Error {
        code: seL4_FailedLookup,
        label: X86PDPTMap,
    })
}
