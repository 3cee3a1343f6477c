//! A Linux process's address space on seL4: a PML4 with its paging
//! structures, and per user page a frame (mapped once in the root task's
//! window) plus the copy of its cap that is mapped in the process.
//!
//! fork shares frames copy-on-write: both spaces map the same frame read-only
//! and a write fault copies it (or, when the other side has let go, just maps
//! it writable again). Frames are reference-counted and go back to the pool
//! when the last space drops them.
use crate::objects::{self, map_page, Frame, Structure, DEPTH};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use selkie_libos::{AddressSpace, Errno, PageRef, Perms, SharedPage};
use selkie_sel4::{consts::*, invoke, CPtr, CapRights};

/// Read-only and read-write data pages.
pub const RO: Perms = Perms {
    read: true,
    write: false,
    exec: false,
};
pub const RW: Perms = Perms {
    read: true,
    write: true,
    exec: false,
};

/// A frame that returns to the pool when its last user drops it (unless
/// the pool never had it: see [`CachePage::foreign`]).
struct SharedFrame(Frame, bool);

impl Drop for SharedFrame {
    fn drop(&mut self) {
        if self.1 {
            objects::get().free_frame(self.0);
        }
    }
}

/// A page of the LibOS's page cache: a frame no address space owns, mapped
/// by [`AddressSpace::map_page`] into every shared mapping of it.
pub struct CachePage(Rc<SharedFrame>);

impl CachePage {
    /// A fresh zeroed page from the pool.
    pub fn new() -> Result<Self, Errno> {
        let frame = objects::get().alloc_frame().map_err(|_| Errno::ENOMEM)?;
        Ok(CachePage(Rc::new(SharedFrame(frame, true))))
    }

    /// A frame another task owns (the root task gave an instance a copy of
    /// its cap, mapped at `window` in the instance): mapped like any page,
    /// never returned to this task's pool.
    pub fn foreign(cap: CPtr, window: u64) -> Self {
        CachePage(Rc::new(SharedFrame(Frame { cap, window }, false)))
    }

    /// The frame's capability (the root task's own; mappings use copies).
    pub fn cap(&self) -> CPtr {
        self.0 .0.cap
    }
}

impl SharedPage for CachePage {
    fn read(&self, off: usize, buf: &mut [u8]) {
        let n = buf.len().min(4096 - off.min(4096));
        // SAFETY: the frame is mapped in our window; the range stays in it.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (self.0 .0.window as *const u8).add(off),
                buf.as_mut_ptr(),
                n,
            )
        };
    }
    fn write(&self, off: usize, data: &[u8]) {
        let n = data.len().min(4096 - off.min(4096));
        // SAFETY: as in `read`. User threads that map the frame never run
        // while the LibOS does (one core, the LibOS at a higher priority).
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), (self.0 .0.window as *mut u8).add(off), n)
        };
    }
    fn is_mapped(&self) -> bool {
        Rc::strong_count(&self.0) > 1
    }
}

struct Page {
    frame: Rc<SharedFrame>,
    /// The cap mapped in the process (a copy of the frame cap).
    mapped: CPtr,
    /// Rights the area grants.
    perms: Perms,
    /// Mapped read-only until the first write (shared after fork).
    cow: bool,
}

impl Page {
    fn window(&self) -> u64 {
        self.frame.0.window
    }
}

pub struct ChildSpace {
    pub pml4: CPtr,
    pages: BTreeMap<u64, Page>,
    structures: Vec<Structure>,
    /// Copies of frame caps the space does not own (see
    /// [`ChildSpace::map_frame_cap`]), mapped at these addresses.
    foreign: Vec<(u64, CPtr)>,
}

fn rights(p: Perms, cow: bool) -> CapRights {
    // seL4 5.0 on x86 maps every user page executable (no NX control) and
    // readable; only write permission can be withheld.
    CapRights::new(false, true, p.write && !cow)
}

impl ChildSpace {
    /// A fresh, empty VSpace (a reused PML4 when one is free).
    pub fn new() -> Result<Self, selkie_sel4::Error> {
        let a = objects::get();
        let (pml4, reused) = a.alloc_object_reused(seL4_X64_PML4Object, 0)?;
        // A reused PML4 keeps its ASID; a new one needs one.
        if !reused {
            if let Err(e) = invoke::asid_pool_assign(seL4_CapInitThreadASIDPool, pml4) {
                a.free_object(seL4_X64_PML4Object, 0, pml4);
                return Err(e);
            }
        }
        Ok(ChildSpace {
            pml4,
            pages: BTreeMap::new(),
            structures: Vec::new(),
            foreign: Vec::new(),
        })
    }

    /// Maps `frame` at `va` through a fresh copy of its cap.
    fn install(
        &mut self,
        va: u64,
        frame: Rc<SharedFrame>,
        perms: Perms,
        cow: bool,
    ) -> Result<(), Errno> {
        let mapped = self.map_copy(va, frame.0.cap, rights(perms, cow))?;
        self.pages.insert(
            va,
            Page {
                frame,
                mapped,
                perms,
                cow,
            },
        );
        Ok(())
    }
}

impl ChildSpace {
    /// Pages mapped and paging structures made (for accounting).
    pub fn footprint(&self) -> (u64, u64) {
        (self.pages.len() as u64, self.structures.len() as u64)
    }

    /// Maps a frame the space does not own (a page of the root task's own
    /// image) at `va` through a copy of `cap`; the copy goes with the space.
    pub fn map_frame_cap(&mut self, va: u64, cap: CPtr, perms: Perms) -> Result<(), Errno> {
        let mapped = self.map_copy(va, cap, rights(perms, false))?;
        self.foreign.push((va, mapped));
        Ok(())
    }

    /// Maps frame `cap` at `va` through a fresh copy of it (a frame cap
    /// maps once); returns the copy.
    fn map_copy(&mut self, va: u64, cap: CPtr, rights: CapRights) -> Result<CPtr, Errno> {
        let a = objects::get();
        let mapped = a.alloc_slot().map_err(|_| Errno::ENOMEM)?;
        let ok = invoke::cnode_copy(
            seL4_CapInitThreadCNode,
            mapped,
            DEPTH,
            seL4_CapInitThreadCNode,
            cap,
            DEPTH,
            CapRights::ALL,
        )
        .and_then(|_| map_page(a, mapped, self.pml4, va, rights, &mut self.structures));
        if ok.is_err() {
            a.delete_slot(mapped);
            return Err(Errno::ENOMEM);
        }
        Ok(mapped)
    }

    /// Unmaps every page and frees every paging structure below the PML4.
    fn release_all(&mut self) {
        for (_, cap) in core::mem::take(&mut self.foreign) {
            let _ = invoke::page_unmap(cap);
            objects::get().delete_slot(cap);
        }
        let vas: Vec<u64> = self.pages.keys().copied().collect();
        for va in vas {
            self.unmap(va);
        }
        let a = objects::get();
        for (cap, ty) in self.structures.drain(..) {
            let _ = match ty {
                seL4_X86_PageTableObject => invoke::page_table_unmap(cap),
                seL4_X86_PageDirectoryObject => invoke::page_directory_unmap(cap),
                _ => invoke::pdpt_unmap(cap),
            };
            a.free_object(ty, 0, cap);
        }
    }
}

impl Drop for ChildSpace {
    /// Frees every page and paging structure; the PML4 goes back for reuse.
    fn drop(&mut self) {
        self.release_all();
        objects::get().free_object(seL4_X64_PML4Object, 0, self.pml4);
    }
}

fn offset(va: u64) -> usize {
    (va & 0xfff) as usize
}

impl AddressSpace for ChildSpace {
    fn release_tables(&mut self) {
        self.release_all();
    }

    fn map_zeroed(&mut self, va: u64, perms: Perms) -> Result<(), Errno> {
        let frame = objects::get().alloc_frame().map_err(|_| Errno::ENOMEM)?;
        self.install(va, Rc::new(SharedFrame(frame, true)), perms, false)
    }

    fn unmap(&mut self, va: u64) {
        if let Some(p) = self.pages.remove(&va) {
            let _ = invoke::page_unmap(p.mapped);
            objects::get().delete_slot(p.mapped);
            // The frame returns to the pool with its last reference.
        }
    }

    fn protect(&mut self, va: u64, perms: Perms) {
        if let Some(p) = self.pages.get_mut(&va) {
            p.perms = perms;
            let _ = invoke::page_remap(
                p.mapped,
                self.pml4,
                rights(perms, p.cow),
                seL4_X86_Default_VMAttributes,
            );
        }
    }

    fn is_mapped(&self, va: u64) -> bool {
        self.pages.contains_key(&(va & !0xfff))
    }

    fn mapped_in(&self, start: u64, end: u64) -> Vec<u64> {
        self.pages.range(start..end).map(|(&va, _)| va).collect()
    }

    fn read(&self, va: u64, buf: &mut [u8]) {
        let p = &self.pages[&(va & !0xfff)];
        // SAFETY: the frame is mapped in our window; the LibOS keeps the range
        // inside one page.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (p.window() as *const u8).add(offset(va)),
                buf.as_mut_ptr(),
                buf.len().min(4096 - offset(va)),
            )
        };
    }

    fn write(&mut self, va: u64, data: &[u8]) {
        let p = &self.pages[&(va & !0xfff)];
        // SAFETY: as in `read`.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data.as_ptr(),
                (p.window() as *mut u8).add(offset(va)),
                data.len().min(4096 - offset(va)),
            )
        };
    }

    fn root(&self) -> u64 {
        self.pml4
    }

    fn fork(&mut self, shared: &dyn Fn(u64) -> bool) -> Result<Box<dyn AddressSpace>, Errno> {
        let mut child = ChildSpace::new().map_err(|_| Errno::ENOMEM)?;
        let vas: Vec<u64> = self.pages.keys().copied().collect();
        for va in vas {
            let p = self.pages.get_mut(&va).expect("page");
            if p.perms.write && !p.cow && !shared(va) {
                p.cow = true;
                let _ = invoke::page_remap(
                    p.mapped,
                    self.pml4,
                    rights(p.perms, true),
                    seL4_X86_Default_VMAttributes,
                );
            }
            let (frame, perms, cow) = (p.frame.clone(), p.perms, p.cow);
            // On failure `child` drops and releases what it took.
            child.install(va, frame, perms, cow)?;
        }
        Ok(Box::new(child))
    }

    fn map_page(&mut self, va: u64, page: &PageRef, perms: Perms) -> Result<(), Errno> {
        let any: &dyn core::any::Any = &**page;
        let page = any.downcast_ref::<CachePage>().ok_or(Errno::EINVAL)?;
        self.install(va, page.0.clone(), perms, false)
    }

    fn frame_id(&self, va: u64) -> Option<u64> {
        self.pages.get(&(va & !0xfff)).map(|p| p.window())
    }

    fn break_cow(&mut self, va: u64) -> Result<bool, Errno> {
        let Some(p) = self.pages.get(&va) else {
            return Ok(false);
        };
        if !p.cow {
            return Ok(false);
        }
        let perms = p.perms;
        if Rc::strong_count(&p.frame) == 1 {
            // Nobody else maps it any more: just make it writable.
            let p = self.pages.get_mut(&va).expect("page");
            p.cow = false;
            let _ = invoke::page_remap(
                p.mapped,
                self.pml4,
                rights(perms, false),
                seL4_X86_Default_VMAttributes,
            );
            return Ok(true);
        }
        let fresh = objects::get().alloc_frame().map_err(|_| Errno::ENOMEM)?;
        // SAFETY: both frames are mapped in our window, 4 KiB each.
        unsafe {
            core::ptr::copy_nonoverlapping(p.window() as *const u8, fresh.window as *mut u8, 4096)
        };
        self.unmap(va);
        self.install(va, Rc::new(SharedFrame(fresh, true)), perms, false)?;
        Ok(true)
    }
}
