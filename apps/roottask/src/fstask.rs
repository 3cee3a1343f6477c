//! File-system tasks: every file system runs in a task of its own
//! (apps/fsd), one task per mounted file system: the root tmpfs from the
//! initial file tree, each tmpfs mount(2) makes, and the disk's ext2, whose
//! task is the block task's client (its endpoint and buffers mapped into
//! it, as the net task is the NIC task's client). The LibOS gets a
//! `selkie_fsproto::Client` over each; dropping the client (umount, or the
//! last close after a lazy one) stops the task and gives back all it held.
use crate::blk::Disk;
use crate::machine;
use alloc::boxed::Box;
use alloc::string::String;
use selkie_fs::FileSystem;
use selkie_libos::{Errno, FsKind};
use selkie_sel4::service::{PEER_EP, PEER_REQUEST_BUF, PEER_RESPONSE_BUF};
use selkie_task::service::{Resources, ServiceTask};

/// The fs service task (apps/fsd, built by scripts/build-roottask.sh).
static FSD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fsd.elf"));

/// START's kinds of file system (see apps/fsd).
const ROOT: u64 = 0;
const TMPFS: u64 = 1;
const EXT2: u64 = 2;
const SHARED: u64 = 3;

/// A file system several LibOS instances mount: a tmpfs of `size` bytes,
/// its heap mapped in full now (`heap` pages), and client k's buffers in
/// `clients[k - 1]` for each member.
pub fn shared(
    size: u64,
    heap: &[selkie_libos::PageRef],
    clients: &[Option<(
        alloc::vec::Vec<selkie_libos::PageRef>,
        alloc::vec::Vec<selkie_libos::PageRef>,
    )>],
) -> Result<ServiceTask, String> {
    use selkie_sel4::service::{CLIENT_BUFS, CLIENT_BUF_STRIDE, CLIENT_RESPONSE, HEAP};
    let mut maps = alloc::vec![(HEAP, heap, true)];
    for (k, c) in clients.iter().enumerate() {
        if let Some((req, resp)) = c {
            let at = CLIENT_BUFS + k as u64 * CLIENT_BUF_STRIDE;
            maps.push((at, req.as_slice(), false));
            maps.push((at + CLIENT_RESPONSE, resp.as_slice(), true));
        }
    }
    let res = Resources {
        caps: &[],
        maps: &maps,
        bound: None,
    };
    let start = [0, SHARED, size, heap.len() as u64 * 4096];
    ServiceTask::spawn("share", FSD, &[], &res, start).map(|(task, _)| task)
}

/// The root file system's task, unpacking the initial tree `cpio`.
pub fn root(cpio: &[u8]) -> Result<Box<dyn FileSystem>, String> {
    let start = [machine::fs_fault_injection(), ROOT, 0, 0];
    let (task, _) = ServiceTask::spawn("fs", FSD, cpio, &Resources::default(), start)?;
    let client = selkie_fsproto::Client::connect(task)
        .map_err(|e| alloc::format!("the fs task does not answer: {e:?}"))?;
    Ok(Box::new(client))
}

/// A new file system of `kind` in a task of its own; the disk's ext2 needs
/// the block task (`disk`). ENXIO without a disk, ENOMEM when the task
/// cannot be built, the mount's errno when the disk holds no ext2 it can
/// serve (with the reason logged).
pub fn mount(kind: FsKind, disk: Option<&Disk>) -> Result<Box<dyn FileSystem>, Errno> {
    let hook = machine::fs_fault_injection();
    let (name, task) = match kind {
        FsKind::Tmpfs { size, mode } => {
            let start = [hook, TMPFS, size, u64::from(mode)];
            (
                "tmpfs",
                ServiceTask::spawn("tmpfs", FSD, &[], &Resources::default(), start),
            )
        }
        FsKind::Disk => {
            let disk = disk.ok_or(Errno::ENXIO)?;
            let (ep, request, response) = disk.peer();
            let caps = [(PEER_EP, ep)];
            let maps = [
                (PEER_REQUEST_BUF, request, true),
                (PEER_RESPONSE_BUF, response, false),
            ];
            let res = Resources {
                caps: &caps,
                maps: &maps,
                bound: None,
            };
            let start = [hook, EXT2, disk.sectors(), u64::from(disk.read_only())];
            ("ext2", ServiceTask::spawn("ext2", FSD, &[], &res, start))
        }
    };
    let (task, ready) = task.map_err(|e| {
        println!("selkie: no {name} task: {e}");
        Errno::ENOMEM
    })?;
    if ready[0] != 0 {
        let mut msg = alloc::vec![0u8; (ready[1] as usize).min(4096)];
        task.read_response(&mut msg);
        println!("selkie: mount /dev/vda: {}", String::from_utf8_lossy(&msg));
        return Err(Errno::new(ready[0] as u16));
    }
    match selkie_fsproto::Client::connect(task) {
        Ok(client) => Ok(Box::new(client)),
        Err(e) => {
            println!("selkie: the {name} task does not answer: {e:?}");
            Err(Errno::EIO)
        }
    }
}
