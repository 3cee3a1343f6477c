//! Service tasks seen from the root task: building one from its ELF (a fresh
//! VSpace, CSpace and TCB, laid out as `selkie_sel4::service` says), the
//! exchange of one message with it, and the clients on top: the fs tasks'
//! `selkie-fsproto` transport ([`ServiceTask`] implements `Transport`) and
//! the block task's `BlockDevice` (`crate::blk`). Dropping a task stops it
//! and gives back everything it held: its TCB, CNode, endpoint, VSpace and
//! pages.
use crate::objects::{self, Held, DEPTH};
use crate::supervisor;
use crate::vspace::{CachePage, ChildSpace, RO, RW};
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_libos::{AddressSpace, PageRef, Perms};
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::service::*;
use selkie_sel4::{consts::*, invoke, syscall, CPtr, CapRights};

/// What a service task gets besides its image and initial data.
#[derive(Default)]
pub struct Resources<'a> {
    /// Capabilities copied into its CSpace: (slot, the root task's cap).
    pub caps: &'a [(u64, CPtr)],
    /// Pages mapped one after another from an address, writable or not
    /// (device DMA pages, another service's buffers).
    pub maps: &'a [(u64, &'a [PageRef], bool)],
    /// A notification bound to its TCB (its Recv also returns its signals).
    pub bound: Option<CPtr>,
}

/// A service task: its objects and the root task's ends of its buffers.
pub struct ServiceTask {
    /// Its name in messages ("fs", "blk").
    name: &'static str,
    space: ChildSpace,
    tcb: CPtr,
    cnode: CPtr,
    /// Its number at the supervisor (the badge of its fault handler).
    number: u64,
    /// Whether a notification is bound to its TCB.
    bound: bool,
    /// The endpoint the root task Calls.
    ep: CPtr,
    request: Vec<PageRef>,
    response: Vec<PageRef>,
    dead: bool,
    /// What its heap holds (objects and slots), counted in the allocator's
    /// `task_heaps` while the task lives.
    heap: Held,
}

const PAGE: u64 = 4096;
const GUARD: u64 = (64 - CSPACE_BITS) << 2;

fn shared_pages(space: &mut ChildSpace, at: u64, perms: Perms) -> Result<Vec<PageRef>, String> {
    (0..BUF_PAGES)
        .map(|i| {
            let p: PageRef = Rc::new(CachePage::new().map_err(|_| "out of memory")?);
            space
                .map_page(at + i * PAGE, &p, perms)
                .map_err(|_| String::from("cannot map a shared page"))?;
            Ok(p)
        })
        .collect()
}

/// Where a task's image goes: `elf` linked (or placed, a PIE, at 4 MiB)
/// between 4 KiB and `user_max`.
pub fn plan_image(elf: &[u8], user_max: u64) -> Result<selkie_loader::LoadPlan, String> {
    selkie_loader::plan(
        elf,
        &selkie_loader::PlanOptions {
            pie_base: 0x40_0000,
            user_min: 0x1000,
            user_max,
            max_image_size: 1 << 30,
        },
    )
    .map_err(|e| alloc::format!("bad ELF: {e:?}"))
}

/// A fresh VSpace holding `plan`'s image of `elf`: its pages mapped
/// zeroed, the file's bytes copied in.
pub fn load_image(elf: &[u8], plan: &selkie_loader::LoadPlan) -> Result<ChildSpace, String> {
    let mut space = ChildSpace::new().map_err(|e| alloc::format!("no VSpace: {e}"))?;
    for (va, perms) in plan.pages() {
        space
            .map_zeroed(va, perms)
            .map_err(|_| String::from("out of memory for its image"))?;
    }
    let mut page = [0u8; PAGE as usize];
    for va in plan.data_pages() {
        plan.fill_page(elf, va, &mut page);
        space.write(va, &page);
    }
    Ok(space)
}

impl ServiceTask {
    /// Builds the task `name` from `elf`: the bytes `initrd` mapped for it
    /// to read at start and what `res` gives it. Calls it with START and
    /// `start` and waits until it answers READY; returns it and READY's
    /// message registers.
    pub fn spawn(
        name: &'static str,
        elf: &[u8],
        initrd: &[u8],
        res: &Resources<'_>,
        start: syscall::Mrs,
    ) -> Result<(ServiceTask, syscall::Mrs), String> {
        let a = objects::get();
        let plan = plan_image(elf, IPC_BUFFER)?;
        let mut space = load_image(elf, &plan)?;
        let oom = |_| String::from("out of memory");
        let initrd_pages = (initrd.len() as u64).div_ceil(PAGE);
        for (i, chunk) in initrd.chunks(PAGE as usize).enumerate() {
            let va = INITRD + i as u64 * PAGE;
            space.map_zeroed(va, RO).map_err(oom)?;
            space.write(va, chunk);
        }
        for i in 1..=STACK_PAGES {
            space.map_zeroed(STACK_TOP - i * PAGE, RW).map_err(oom)?;
        }
        for i in 1..=FAULT_STACK_PAGES {
            space
                .map_zeroed(FAULT_STACK_TOP - i * PAGE, RW)
                .map_err(oom)?;
        }
        let ipc = CachePage::new().map_err(oom)?;
        let ipc_cap = ipc.cap();
        let ipc: PageRef = Rc::new(ipc);
        space.map_page(IPC_BUFFER, &ipc, RW).map_err(oom)?;
        for &(at, pages, writable) in res.maps {
            for (i, p) in pages.iter().enumerate() {
                let perms = if writable { RW } else { RO };
                space
                    .map_page(at + i as u64 * PAGE, p, perms)
                    .map_err(oom)?;
            }
        }
        let request = shared_pages(&mut space, REQUEST_BUF, RO)?;
        let response = shared_pages(&mut space, RESPONSE_BUF, RW)?;

        let sel4 = |e: selkie_sel4::Error| alloc::format!("{e}");
        // The objects, all or none.
        let mut made = Vec::new();
        for (ty, bits) in [
            (seL4_EndpointObject, 0),
            (seL4_CapTableObject, CSPACE_BITS),
            (seL4_TCBObject, 0),
        ] {
            match a.alloc_object(ty, bits) {
                Ok(cap) => made.push((ty, bits, cap)),
                Err(e) => {
                    for (ty, bits, cap) in made {
                        a.free_object(ty, bits, cap);
                    }
                    return Err(sel4(e));
                }
            }
        }
        let (ep, cnode, tcb) = (made[0].2, made[1].2, made[2].2);
        let Some(number) = supervisor::register(tcb, plan.entry) else {
            for (ty, bits, cap) in made {
                a.free_object(ty, bits, cap);
            }
            return Err(String::from("too many service tasks"));
        };
        // From here on, dropping the task gives everything back.
        let mut task = ServiceTask {
            name,
            space,
            tcb,
            cnode,
            number,
            bound: res.bound.is_some(),
            ep,
            request,
            response,
            dead: false,
            heap: Held::default(),
        };
        for (slot, ep, badge) in [
            (SERVICE_EP, ep, 0),
            (FAULT_EP, supervisor::endpoint(), number),
        ] {
            invoke::cnode_mint(
                cnode,
                slot,
                CSPACE_BITS,
                seL4_CapInitThreadCNode,
                ep,
                DEPTH,
                CapRights::ALL,
                badge,
            )
            .map_err(sel4)?;
        }
        for &(slot, cap) in res.caps {
            invoke::cnode_copy(
                cnode,
                slot,
                CSPACE_BITS,
                seL4_CapInitThreadCNode,
                cap,
                DEPTH,
                CapRights::ALL,
            )
            .map_err(sel4)?;
        }
        invoke::tcb_configure(
            tcb,
            FAULT_EP,
            cnode,
            GUARD,
            task.space.pml4,
            0,
            IPC_BUFFER,
            ipc_cap,
        )
        .and_then(|_| invoke::tcb_set_priority(tcb, crate::priority()))
        .and_then(|_| match res.bound {
            Some(ntfn) => invoke::tcb_bind_notification(tcb, ntfn),
            None => Ok(()),
        })
        .map_err(sel4)?;
        let mut regs = [0u64; 19];
        regs[0] = plan.entry;
        regs[1] = STACK_TOP;
        regs[2] = 0x202;
        regs[8] = initrd.len() as u64;
        invoke::tcb_write_registers(tcb, true, 0, &regs).map_err(sel4)?;
        // The task's VSpace keeps the IPC buffer's frame.
        drop(ipc);
        let ready = task
            .call(START, start, READY)
            .map_err(|_| alloc::format!("the {name} task died starting"))?;
        for i in 0..initrd_pages {
            task.space.unmap(INITRD + i * PAGE);
        }
        Ok((task, ready))
    }

    /// Calls the task with `label` and `mrs` and returns the message
    /// registers of its answer `expect`, serving its heap requests meanwhile;
    /// a fault, a panic or another answer ends the task.
    fn call(
        &mut self,
        label: u64,
        mrs: syscall::Mrs,
        expect: u64,
    ) -> Result<syscall::Mrs, selkie_fsproto::Dead> {
        if self.dead {
            return Err(selkie_fsproto::Dead);
        }
        let (mut info, mut mrs) = syscall::call(self.ep, MessageInfo::new(label, 0, 0, 4), mrs);
        loop {
            match info.label() {
                l if l == expect => return Ok(mrs),
                GROW => {
                    let ok = self.grow(mrs[0], mrs[1]);
                    (info, mrs) = syscall::call(
                        self.ep,
                        MessageInfo::new(GRANTED, 0, 0, 1),
                        [ok as u64, 0, 0, 0],
                    );
                }
                PANIC => {
                    let mut msg = alloc::vec![0u8; (mrs[0] as usize).min(4096)];
                    self.read_response(&mut msg);
                    println!(
                        "selkie: the {} task panicked: {}",
                        self.name,
                        String::from_utf8_lossy(&msg)
                    );
                    return Err(self.stop());
                }
                FAULTED => {
                    let [label, ip, addr, _] = mrs;
                    match label {
                        seL4_Fault_VMFault => println!(
                            "selkie: the {} task faulted: page fault at {addr:#x}, ip {ip:#x}",
                            self.name
                        ),
                        seL4_Fault_UserException => println!(
                            "selkie: the {} task faulted: CPU exception at ip {ip:#x}",
                            self.name
                        ),
                        _ => println!(
                            "selkie: the {} task faulted (seL4 fault {label})",
                            self.name
                        ),
                    }
                    return Err(self.stop());
                }
                l => {
                    println!(
                        "selkie: the {} task answered {l}, expected {expect}",
                        self.name
                    );
                    return Err(self.stop());
                }
            }
        }
    }

    /// A request of the task's client 0 other than REQUEST (e.g. the net
    /// task's DROP_CLIENT): `label` and `mrs`, answered RESPONSE.
    pub fn control(
        &mut self,
        label: u64,
        mrs: syscall::Mrs,
    ) -> Result<syscall::Mrs, selkie_fsproto::Dead> {
        self.call(label, mrs, RESPONSE)
    }

    /// Maps zeroed pages over `[start, start + len)` of the task's heap.
    fn grow(&mut self, start: u64, len: u64) -> bool {
        let before = self.space.footprint();
        if !start.is_multiple_of(PAGE)
            || start < HEAP
            || len > HEAP_MAX
            || start - HEAP > HEAP_MAX - len
        {
            return false;
        }
        let mut va = start;
        while va < start + len {
            if self.space.map_zeroed(va, RW).is_err() {
                // Out of memory: give back what this request got.
                while va > start {
                    va -= PAGE;
                    self.space.unmap(va);
                }
                println!("selkie: out of memory for the {} task's heap", self.name);
                return false;
            }
            va += PAGE;
        }
        // Each page is a frame (an object and its slot) and the slot of the
        // copy mapped in the task; each paging structure an object and a slot.
        let (pages, tables) = self.space.footprint();
        let (pages, tables) = (pages - before.0, tables - before.1);
        let grown = Held {
            objects: pages + tables,
            slots: 2 * pages + tables,
        };
        self.heap.objects += grown.objects;
        self.heap.slots += grown.slots;
        let heaps = &mut objects::get().task_heaps;
        heaps.objects += grown.objects;
        heaps.slots += grown.slots;
        true
    }

    /// Stops the task for good: every later request fails.
    fn stop(&mut self) -> selkie_fsproto::Dead {
        self.dead = true;
        let _ = invoke::tcb_suspend(self.tcb);
        println!(
            "selkie: the {} task is stopped; its clients get EIO",
            self.name
        );
        selkie_fsproto::Dead
    }

    /// The endpoint clients Call and the pages of its request and response
    /// buffers (for a service that is another's client).
    pub fn endpoint_and_buffers(&self) -> (CPtr, &[PageRef], &[PageRef]) {
        (self.ep, &self.request, &self.response)
    }

    /// Reads the start of the response buffer.
    pub fn read_response(&self, out: &mut [u8]) {
        for (i, chunk) in out.chunks_mut(PAGE as usize).enumerate() {
            self.response[i].read(0, chunk);
        }
    }
}

impl Drop for ServiceTask {
    /// Stops the task and gives back its TCB, CNode (emptied), endpoint,
    /// VSpace and pages (the shared buffers' go with their last mapping).
    fn drop(&mut self) {
        let a = objects::get();
        let _ = invoke::tcb_suspend(self.tcb);
        if self.bound {
            let _ = invoke::tcb_unbind_notification(self.tcb);
        }
        supervisor::unregister(self.number);
        for slot in 0..1 << CSPACE_BITS {
            let _ = invoke::cnode_delete(self.cnode, slot, CSPACE_BITS);
        }
        a.free_object(seL4_TCBObject, 0, self.tcb);
        a.free_object(seL4_CapTableObject, CSPACE_BITS, self.cnode);
        a.free_object(seL4_EndpointObject, 0, self.ep);
        a.task_heaps.objects -= self.heap.objects;
        a.task_heaps.slots -= self.heap.slots;
        // `space` (its pages and paging structures) drops after this.
    }
}

impl ServiceTask {
    /// One exchange: `request` into the request buffer, a REQUEST with
    /// `mrs` (the first replaced by the request's length), then the
    /// RESPONSE's message registers (the first the response's length, at
    /// most the buffer's; [`Self::read_response`] reads it).
    pub fn exchange(
        &mut self,
        mut mrs: syscall::Mrs,
        request: &[u8],
    ) -> Result<syscall::Mrs, selkie_fsproto::Dead> {
        let capacity = BUF_BYTES;
        if request.len() > capacity {
            return Err(selkie_fsproto::Dead);
        }
        for (i, chunk) in request.chunks(PAGE as usize).enumerate() {
            self.request[i].write(0, chunk);
        }
        mrs[0] = request.len() as u64;
        let mrs = self.call(REQUEST, mrs, RESPONSE)?;
        if mrs[0] as usize > capacity {
            println!(
                "selkie: the {} task answered {} bytes, more than its buffer",
                self.name, mrs[0]
            );
            return Err(self.stop());
        }
        Ok(mrs)
    }
}

impl selkie_fsproto::Transport for ServiceTask {
    fn capacity(&self) -> usize {
        BUF_BYTES
    }

    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), selkie_fsproto::Dead> {
        let len = self.exchange([0; 4], request)?[0] as usize;
        response.clear();
        response.resize(len, 0);
        self.read_response(response);
        Ok(())
    }
}
