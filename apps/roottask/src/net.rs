//! The network: the root task finds a virtio-net device on the PCI bus and
//! starts the NIC driver task (apps/nicd) for it, with an IOPort capability
//! for the device's registers only, its interrupt line and DMA pages; the
//! TCP/IP stack (`selkie-net`) reaches the task through [`NicTask`], a
//! `NicLink` over IPC.
use crate::device;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::Cell;
use selkie_net::nic::{decode_batch, encode_batch, NicLink, MAX_FRAME};
use selkie_sel4::driver::IoPorts;
use selkie_sel4::service::*;
use selkie_sel4::{consts::*, CPtr};
use selkie_task::service::{Resources, ServiceTask};
use selkie_virtio::pci;

/// The NIC driver task (built by scripts/build-roottask.sh).
static NICD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/nicd.elf"));

/// Request operations of the NIC task (see apps/nicd).
const SEND: u64 = 1;
const FETCH: u64 = 2;
/// Ring pages of each of the device's two queues (QEMU's queues of 256),
/// then single pages: 16 for 32 receive buffers, 8 for 16 transmit ones.
const RING_PAGES: usize = 3;
const BUFFER_PAGES: usize = 24;
/// IOAPIC vector of the NIC's interrupt (the console has 0, the timer 1,
/// the disk 2).
const VECTOR: u64 = 3;
/// The badge the NIC's interrupt arrives with at the task (nonzero: Calls
/// come with badge 0).
const IRQ_BADGE: u64 = 1;

/// The NIC task, as its client sees it.
pub struct NicTask {
    task: ServiceTask,
    mac: [u8; 6],
    /// Reused for each frame sent.
    batch: Vec<u8>,
    /// Set when the task's signal arrives (the root task's event loop).
    announced: Rc<Cell<bool>>,
}

/// Finds a virtio-net device and starts its task; `client` is the
/// notification (a badged capability) the task signals when frames come in,
/// and whoever receives that signal sets `announced`. None without a device.
pub fn start(client: CPtr, announced: Rc<Cell<bool>>) -> Option<NicTask> {
    let mut root_ports = IoPorts(seL4_CapIOPort);
    let dev = pci::find_virtio_net(&mut root_ports)?;
    dev.enable(&mut root_ports);
    let fail = |what: &str| {
        println!("selkie: network card at PCI {:?}: {what}", dev.address);
        None
    };
    let Ok(ports) = device::ioport_cap(&dev) else {
        return fail("cannot make its IOPort capability");
    };
    let Some((dma, paddrs)) = device::dma_pages(&[RING_PAGES, RING_PAGES], BUFFER_PAGES) else {
        return fail("no DMA memory");
    };
    let (handler, ntfn) = match device::interrupt(dev.irq_line, VECTOR, IRQ_BADGE) {
        Ok(h) => h,
        Err(e) => {
            return fail(&alloc::format!(
                "no interrupt on line {} ({e}); a card that cannot interrupt is not used",
                dev.irq_line
            ))
        }
    };
    let caps = [
        (IOPORT, ports),
        (IRQ_HANDLER, handler),
        (CLIENT_NOTIFICATION, client),
    ];
    let res = Resources {
        caps: &caps,
        maps: &[(DMA, &dma, true)],
        bound: Some(ntfn),
    };
    let data = device::initial_data(&dev, &paddrs);
    match ServiceTask::spawn("nic", NICD, &data, &res, [0; 4]) {
        Ok((task, ready)) => {
            let mac = core::array::from_fn(|i| (ready[0] >> (8 * i)) as u8);
            Some(NicTask {
                task,
                mac,
                batch: alloc::vec![0; 2 + MAX_FRAME],
                announced,
            })
        }
        Err(e) => fail(&e),
    }
}

impl NicTask {
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

impl NicLink for NicTask {
    fn send(&mut self, frame: &[u8]) -> Option<usize> {
        let (len, count) = encode_batch([frame], &mut self.batch);
        if count != 1 {
            return None;
        }
        let mrs = self
            .task
            .exchange([0, SEND, 0, 0], &self.batch[..len])
            .ok()?;
        (mrs[1] == 1).then_some(mrs[2] as usize)
    }

    fn fetch(&mut self, out: &mut VecDeque<Vec<u8>>) -> bool {
        let Ok(mrs) = self.task.exchange([0, FETCH, 0, 0], &[]) else {
            return false;
        };
        let mut batch = alloc::vec![0; mrs[0] as usize];
        self.task.read_response(&mut batch);
        out.extend(decode_batch(&batch).map(|f| f.to_vec()));
        mrs[2] != 0
    }

    fn take_announced(&mut self) -> bool {
        self.announced.take()
    }
}

/// The net service task (built by scripts/build-roottask.sh).
#[cfg(not(feature = "net-inproc"))]
static NETD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/netd.elf"));

/// The network as the LibOS sees it, and what the root task's event loop
/// must do when `notify` (the badged capability of its notification it
/// hands out) is signalled: set `announced`, when there is one, then let
/// the LibOS poll.
pub struct Network {
    pub net: alloc::boxed::Box<dyn selkie_net::Net>,
    pub announced: Option<Rc<Cell<bool>>>,
    /// The NIC task when the net task is its client: whoever holds the
    /// network keeps it (dropping it takes down the task's address space).
    pub nic: Option<NicTask>,
}

/// The stack's configuration for this machine: QEMU's user network, the
/// card's MAC address, a seed of this boot's own.
fn config(mac: [u8; 6]) -> (selkie_net::Config, u64) {
    let mut seed = [0u8; 8];
    crate::machine::fill_random(&mut seed);
    let mut cfg = selkie_net::Config::qemu_user();
    cfg.mac = mac;
    cfg.seed = u64::from_le_bytes(seed);
    let seed = cfg.seed;
    (cfg, seed)
}

/// Starts the network when there is a card: the NIC task, and the stack
/// linked into the LibOS (`net-inproc` builds). `notify` is signalled when
/// frames come in.
#[cfg(feature = "net-inproc")]
pub fn network(notify: CPtr) -> Option<Network> {
    let announced = Rc::new(Cell::new(false));
    let nic = start(notify, announced.clone())?;
    let (cfg, _) = config(nic.mac());
    let now_ms = crate::machine::monotonic_ns() / 1_000_000;
    match selkie_net::Stack::new(cfg, selkie_net::nic::RemoteNic::new(nic), now_ms) {
        Ok(stack) => {
            println!("selkie: network up: 10.0.2.15/24 (the stack in the LibOS)");
            Some(Network {
                net: alloc::boxed::Box::new(stack),
                announced: Some(announced),
                nic: None,
            })
        }
        Err(e) => {
            println!("selkie: the network stack does not start: {e:?}");
            None
        }
    }
}

/// Starts the NIC task, when there is a card, and the net task as its
/// client, with `caps` (its clients' notifications), `maps` (further
/// clients' buffers) and `clients` (a bit per client with a notification,
/// bit k for client k).
#[cfg(not(feature = "net-inproc"))]
fn net_task(
    caps: &[(u64, CPtr)],
    maps: &[(u64, &[selkie_libos::PageRef], bool)],
    clients: u64,
) -> Option<(ServiceTask, NicTask)> {
    use selkie_task::objects;
    let a = objects::get();
    let fail = |what: &str| {
        println!("selkie: the network does not start: {what}");
        None
    };
    // The net task's notification (bound to it); the NIC task signals it
    // through a badged copy (Calls to the net task carry client numbers).
    let Ok(ntfn) = a.alloc_object(seL4_NotificationObject, 0) else {
        return fail("out of memory");
    };
    let Ok(badged) = objects::mint_badged(ntfn, PEER_SIGNAL) else {
        return fail("cannot badge the net task's notification");
    };
    // The root task never Calls the NIC task: nothing to announce to it.
    let nic = start(badged, Rc::new(Cell::new(false)))?;
    let (ep, request, response) = nic.task.endpoint_and_buffers();
    let mut all_caps = alloc::vec![(PEER_EP, ep)];
    all_caps.extend_from_slice(caps);
    let mut all_maps = alloc::vec![
        (PEER_REQUEST_BUF, request, true),
        (PEER_RESPONSE_BUF, response, false),
    ];
    all_maps.extend_from_slice(maps);
    let res = Resources {
        caps: &all_caps,
        maps: &all_maps,
        bound: Some(ntfn),
    };
    let (_, seed) = config(nic.mac());
    let mac = nic
        .mac()
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &b)| m | (b as u64) << (8 * i));
    let (mhz, boot_tsc, _) = crate::machine::clock_params();
    let start = [mac | clients << 48, seed, mhz, boot_tsc];
    match ServiceTask::spawn("net", NETD, &[], &res, start) {
        Ok((task, _)) => Some((task, nic)),
        Err(e) => fail(&e),
    }
}

/// Starts the network when there is a card: the NIC task, and the net
/// service task as its client; the LibOS gets a client of the net task.
/// `notify` is signalled when the net task has taken frames in.
#[cfg(not(feature = "net-inproc"))]
pub fn network(notify: CPtr) -> Option<Network> {
    // Client 0 (the LibOS) is the only one.
    let (task, nic) = net_task(&[(CLIENT_NOTIFICATION, notify)], &[], 1)?;
    match selkie_netproto::Client::connect(task) {
        Ok(client) => {
            println!("selkie: network up: 10.0.2.15/24 (the net service task)");
            Some(Network {
                net: alloc::boxed::Box::new(client),
                announced: None,
                nic: Some(nic),
            })
        }
        Err(e) => {
            println!("selkie: the network does not start: the net task does not answer: {e:?}");
            None
        }
    }
}

/// The net task a multi-instance configuration's LibOS instances share:
/// the NIC task, and the net task with client k (1 to 8) for each
/// `clients[k - 1]` given, each with its own buffers.
#[cfg(not(feature = "net-inproc"))]
pub struct SharedNet {
    pub task: ServiceTask,
    /// Kept alive with the net task, its client.
    pub _nic: NicTask,
    /// Client k's (request, response) pages, at index k - 1.
    pub buffers: Vec<Option<(Vec<selkie_libos::PageRef>, Vec<selkie_libos::PageRef>)>>,
}

/// Starts the NIC task and the net task for LibOS instances when there is
/// a card: `clients[k - 1]`, when given, is the notification the net task
/// signals for client k (the instance's, badged).
#[cfg(not(feature = "net-inproc"))]
pub fn shared_network(clients: &[Option<CPtr>]) -> Option<SharedNet> {
    use selkie_task::vspace::CachePage;
    let page = || -> Option<selkie_libos::PageRef> { Some(Rc::new(CachePage::new().ok()?)) };
    let pages =
        || -> Option<Vec<selkie_libos::PageRef>> { (0..BUF_PAGES).map(|_| page()).collect() };
    let mut buffers = Vec::new();
    for c in clients {
        buffers.push(match c {
            Some(_) => match (pages(), pages()) {
                (Some(req), Some(resp)) => Some((req, resp)),
                _ => {
                    println!("selkie: the network does not start: out of memory for the clients' buffers");
                    return None;
                }
            },
            None => None,
        });
    }
    let mut caps = Vec::new();
    let mut maps = Vec::new();
    let mut present = 0u64;
    for (k, (c, b)) in clients.iter().zip(&buffers).enumerate() {
        if let (Some(cap), Some((req, resp))) = (c, b) {
            caps.push((CLIENT_NOTIFICATIONS + k as u64, *cap));
            let at = CLIENT_BUFS + k as u64 * CLIENT_BUF_STRIDE;
            maps.push((at, req.as_slice(), false));
            maps.push((at + CLIENT_RESPONSE, resp.as_slice(), true));
            present |= 1 << (k + 1);
        }
    }
    let (task, nic) = net_task(&caps, &maps, present)?;
    println!("selkie: network up: 10.0.2.15/24 (the net service task, shared)");
    Some(SharedNet {
        task,
        _nic: nic,
        buffers,
    })
}
