//! A Linux process's address space on seL4: a PML4 with its paging
//! structures, and per user page the frame (mapped in the root task's window)
//! plus the copy of its cap that is mapped in the process.
use crate::objects::{self, map_page, Frame, Structure, DEPTH};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use selkie_libos::{AddressSpace, Errno, Perms};
use selkie_sel4::{consts::*, invoke, CPtr, CapRights};

struct Page {
    frame: Frame,
    /// The cap mapped in the process (a copy of `frame.cap`).
    mapped: CPtr,
}

pub struct ChildSpace {
    pub pml4: CPtr,
    pages: BTreeMap<u64, Page>,
    structures: Vec<Structure>,
}

fn rights(p: Perms) -> CapRights {
    // seL4 5.0 on x86 maps every user page executable (no NX control) and
    // readable; only write permission can be withheld.
    CapRights::new(false, true, p.write)
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
        })
    }
}

impl Drop for ChildSpace {
    /// Frees every page and paging structure; the PML4 goes back for reuse.
    fn drop(&mut self) {
        let vas: Vec<u64> = self.pages.keys().copied().collect();
        for va in vas {
            self.unmap(va);
        }
        let a = objects::get();
        // Deepest structures first (they were created bottom-up per page).
        for (cap, ty) in self.structures.drain(..) {
            let _ = match ty {
                seL4_X86_PageTableObject => invoke::page_table_unmap(cap),
                seL4_X86_PageDirectoryObject => invoke::page_directory_unmap(cap),
                _ => invoke::pdpt_unmap(cap),
            };
            a.free_object(ty, 0, cap);
        }
        a.free_object(seL4_X64_PML4Object, 0, self.pml4);
    }
}

fn offset(va: u64) -> usize {
    (va & 0xfff) as usize
}

impl AddressSpace for ChildSpace {
    fn map_zeroed(&mut self, va: u64, perms: Perms) -> Result<(), Errno> {
        let a = objects::get();
        let frame = a.alloc_frame().map_err(|_| Errno::ENOMEM)?;
        let mapped = match a.alloc_slot() {
            Ok(s) => s,
            Err(_) => {
                a.free_frame(frame);
                return Err(Errno::ENOMEM);
            }
        };
        let ok = invoke::cnode_copy(
            seL4_CapInitThreadCNode,
            mapped,
            DEPTH,
            seL4_CapInitThreadCNode,
            frame.cap,
            DEPTH,
            CapRights::ALL,
        )
        .and_then(|_| {
            map_page(
                a,
                mapped,
                self.pml4,
                va,
                rights(perms),
                &mut self.structures,
            )
        });
        if ok.is_err() {
            a.delete_slot(mapped);
            a.free_frame(frame);
            return Err(Errno::ENOMEM);
        }
        self.pages.insert(va, Page { frame, mapped });
        Ok(())
    }

    fn unmap(&mut self, va: u64) {
        if let Some(p) = self.pages.remove(&va) {
            let a = objects::get();
            let _ = invoke::page_unmap(p.mapped);
            a.delete_slot(p.mapped);
            a.free_frame(p.frame);
        }
    }

    fn protect(&mut self, va: u64, perms: Perms) {
        if let Some(p) = self.pages.get(&va) {
            let _ = invoke::page_remap(
                p.mapped,
                self.pml4,
                rights(perms),
                seL4_X86_Default_VMAttributes,
            );
        }
    }

    fn is_mapped(&self, va: u64) -> bool {
        self.pages.contains_key(&(va & !0xfff))
    }

    fn read(&self, va: u64, buf: &mut [u8]) {
        let p = &self.pages[&(va & !0xfff)];
        // SAFETY: the frame is mapped in our window; the LibOS keeps the range
        // inside one page.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (p.frame.window as *const u8).add(offset(va)),
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
                (p.frame.window as *mut u8).add(offset(va)),
                data.len().min(4096 - offset(va)),
            )
        };
    }
}
