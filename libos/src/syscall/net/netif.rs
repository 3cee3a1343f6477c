//! The network as Linux shows it to `ifconfig`, `route` and `netstat`: the
//! SIOCGIF* ioctls (on any socket, as Linux answers them for every family)
//! and /proc/net: dev, route, tcp, udp (and tcp6, udp6, raw, raw6 with
//! their headers only: no IPv6, no raw sockets).
//!
//! There are two interfaces: `lo` (index 1, 127.0.0.1/8) and, when the
//! machine has a network card, `eth0` (index 2) with the stack's address,
//! prefix, MAC and MTU ([`selkie_net::Net::if_info`]). Without a card
//! (no stack, or the LibOS's own loopback-only stack) only `lo` exists.
//! The configuration cannot be changed: the SIOCSIF* requests and route
//! changes give EOPNOTSUPP (ENODEV for an interface that does not exist),
//! except a SIOCSIFFLAGS that changes nothing.
use super::super::io::{copy_in, copy_out};
use crate::kernel::Kernel;
use crate::process::Pid;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use linux_raw_sys::ioctl as io;
use selkie_net::IfCounters;
use selkie_syscalls::errno::Errno;

/// `sizeof(struct ifreq)` and of its name.
const IFREQ: usize = 40;
const IFNAMSIZ: usize = 16;
/// `sizeof(struct ifconf)`.
const IFCONF: usize = 16;
/// The interface flags (`IFF_*`).
const IFF_UP: u16 = 0x1;
const IFF_BROADCAST: u16 = 0x2;
const IFF_LOOPBACK: u16 = 0x8;
const IFF_RUNNING: u16 = 0x40;
/// Hardware types (`ARPHRD_*`).
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
/// Linux's defaults: lo's MTU and both queue lengths.
const LO_MTU: u32 = 65_536;
const TXQLEN: i32 = 1000;
/// Route flags (`RTF_*`).
const RTF_UP: u16 = 0x1;
const RTF_GATEWAY: u16 = 0x2;

/// One interface.
pub(crate) struct Iface {
    pub name: &'static str,
    pub index: i32,
    pub flags: u16,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// The broadcast address (0.0.0.0 for lo, as Linux reports it).
    pub broadcast: Ipv4Addr,
    pub hwtype: u16,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub gateway: Option<Ipv4Addr>,
    pub counters: IfCounters,
}

fn mask(prefix_len: u8) -> Ipv4Addr {
    Ipv4Addr::from_bits(
        u32::MAX
            .checked_shl(32 - prefix_len.min(32) as u32)
            .unwrap_or(0),
    )
}

/// The interfaces, `lo` first.
pub(crate) fn interfaces(k: &Kernel) -> Vec<Iface> {
    let info = k.net.as_deref().and_then(|net| net.if_info().ok());
    let mut v = Vec::new();
    v.push(Iface {
        name: "lo",
        index: 1,
        flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
        addr: Ipv4Addr::LOCALHOST,
        prefix_len: 8,
        broadcast: Ipv4Addr::UNSPECIFIED,
        hwtype: ARPHRD_LOOPBACK,
        mac: [0; 6],
        mtu: LO_MTU,
        gateway: None,
        counters: info.map(|i| i.lo).unwrap_or_default(),
    });
    if let Some(i) = info.filter(|_| !k.net_local_only) {
        let m = mask(i.prefix_len);
        v.push(Iface {
            name: "eth0",
            index: 2,
            flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING,
            addr: i.addr,
            prefix_len: i.prefix_len,
            broadcast: Ipv4Addr::from_bits(i.addr.to_bits() | !m.to_bits()),
            hwtype: ARPHRD_ETHER,
            mac: i.mac,
            mtu: i.mtu,
            gateway: i.gateway,
            counters: i.nic,
        });
    }
    v
}

/// A `struct sockaddr_in` of `a` as an ifreq holds it.
fn sin(a: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&(linux_raw_sys::net::AF_INET as u16).to_le_bytes());
    b[4..8].copy_from_slice(&a.octets());
    b
}

/// The interface an ifreq's name names (ENODEV for none).
fn named<'a>(ifaces: &'a [Iface], req: &[u8; IFREQ]) -> Result<&'a Iface, Errno> {
    let name = &req[..IFNAMSIZ - 1];
    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    ifaces
        .iter()
        .find(|i| i.name.as_bytes() == &name[..end])
        .ok_or(Errno::ENODEV)
}

/// The interface ioctls; None for other requests.
pub(crate) fn ioctl(k: &Kernel, pid: Pid, req: u32, arg: u64) -> Option<Result<u64, Errno>> {
    let getter = matches!(
        req,
        io::SIOCGIFNAME
            | io::SIOCGIFFLAGS
            | io::SIOCGIFADDR
            | io::SIOCGIFDSTADDR
            | io::SIOCGIFBRDADDR
            | io::SIOCGIFNETMASK
            | io::SIOCGIFMETRIC
            | io::SIOCGIFMTU
            | io::SIOCGIFHWADDR
            | io::SIOCGIFINDEX
            | io::SIOCGIFMAP
            | io::SIOCGIFTXQLEN
    );
    let setter = matches!(
        req,
        io::SIOCSIFFLAGS
            | io::SIOCSIFADDR
            | io::SIOCSIFDSTADDR
            | io::SIOCSIFBRDADDR
            | io::SIOCSIFNETMASK
            | io::SIOCSIFMETRIC
            | io::SIOCSIFMTU
            | io::SIOCSIFNAME
            | io::SIOCSIFHWADDR
            | io::SIOCSIFMAP
            | io::SIOCSIFTXQLEN
            | io::SIOCDIFADDR
            | io::SIOCADDMULTI
            | io::SIOCDELMULTI
    );
    if req == io::SIOCGIFCONF {
        return Some(ifconf(k, pid, arg));
    }
    if matches!(req, io::SIOCADDRT | io::SIOCDELRT) {
        return Some(Err(Errno::EOPNOTSUPP));
    }
    if !getter && !setter {
        return None;
    }
    Some((|| {
        let mut r = [0u8; IFREQ];
        copy_in(k, pid, arg, &mut r)?;
        let ifaces = interfaces(k);
        if req == io::SIOCGIFNAME {
            let index = i32::from_le_bytes([r[16], r[17], r[18], r[19]]);
            let i = ifaces
                .iter()
                .find(|i| i.index == index)
                .ok_or(Errno::ENODEV)?;
            r[..IFNAMSIZ].fill(0);
            r[..i.name.len()].copy_from_slice(i.name.as_bytes());
            copy_out(k, pid, arg, &r)?;
            return Ok(0);
        }
        let i = named(&ifaces, &r)?;
        if setter {
            // Setting the flags it has changes nothing.
            let flags = u16::from_le_bytes([r[16], r[17]]);
            if req == io::SIOCSIFFLAGS && flags == i.flags {
                return Ok(0);
            }
            return Err(Errno::EOPNOTSUPP);
        }
        let u = &mut r[16..];
        u.fill(0);
        let int = |u: &mut [u8], v: i32| u[..4].copy_from_slice(&v.to_le_bytes());
        match req {
            io::SIOCGIFFLAGS => u[..2].copy_from_slice(&i.flags.to_le_bytes()),
            // Not point-to-point: the destination is the local address.
            io::SIOCGIFADDR | io::SIOCGIFDSTADDR => u[..16].copy_from_slice(&sin(i.addr)),
            io::SIOCGIFBRDADDR => u[..16].copy_from_slice(&sin(i.broadcast)),
            io::SIOCGIFNETMASK => u[..16].copy_from_slice(&sin(mask(i.prefix_len))),
            io::SIOCGIFMETRIC => int(u, 0),
            io::SIOCGIFMTU => int(u, i.mtu as i32),
            io::SIOCGIFINDEX => int(u, i.index),
            io::SIOCGIFTXQLEN => int(u, TXQLEN),
            io::SIOCGIFHWADDR => {
                u[..2].copy_from_slice(&i.hwtype.to_le_bytes());
                u[2..8].copy_from_slice(&i.mac);
            }
            // No memory, I/O port or IRQ to show: all zero.
            _ => {}
        }
        copy_out(k, pid, arg, &r)?;
        Ok(0)
    })())
}

/// SIOCGIFCONF: an ifreq with the name and address of each interface, as
/// many as `ifc_len` bytes hold; `ifc_len` becomes the bytes written (or,
/// with a null buffer, those needed).
fn ifconf(k: &Kernel, pid: Pid, arg: u64) -> Result<u64, Errno> {
    let mut c = [0u8; IFCONF];
    copy_in(k, pid, arg, &mut c)?;
    let len = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let buf = u64::from_le_bytes(c[8..16].try_into().unwrap_or([0; 8]));
    let ifaces = interfaces(k);
    let mut done = 0usize;
    for i in &ifaces {
        if buf == 0 {
            done += IFREQ;
            continue;
        }
        if len < 0 || (len as usize) < done + IFREQ {
            break;
        }
        let mut r = [0u8; IFREQ];
        r[..i.name.len()].copy_from_slice(i.name.as_bytes());
        r[16..32].copy_from_slice(&sin(i.addr));
        copy_out(k, pid, buf.saturating_add(done as u64), &r)?;
        done += IFREQ;
    }
    copy_out(k, pid, arg, &(done as i32).to_le_bytes())?;
    Ok(0)
}

/// /proc/net/dev: each interface's counters (errors, drops and the rest
/// are not counted: 0).
pub(crate) fn proc_dev(k: &Kernel) -> String {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for i in interfaces(k) {
        let c = i.counters;
        s += &format!(
            "{:>6}:{:8} {:7} {:4} {:4} {:4} {:5} {:10} {:9} {:8} {:7} {:4} {:4} {:4} {:5} {:7} {:10}\n",
            i.name, c.rx_bytes, c.rx_packets, 0, 0, 0, 0, 0, 0, c.tx_bytes, c.tx_packets, 0, 0, 0, 0, 0, 0
        );
    }
    s
}

/// An IPv4 address as /proc/net prints it: its bytes in memory order, as
/// a little-endian u32 in hex.
fn hex(a: Ipv4Addr) -> String {
    format!("{:08X}", u32::from_le_bytes(a.octets()))
}

/// /proc/net/route: the main table (the default route first, then each
/// interface's network), each line padded to 127 characters as Linux.
pub(crate) fn proc_route(k: &Kernel) -> String {
    let line = |s: &str| format!("{s:<127}\n");
    let mut out =
        line("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
    let mut routes = Vec::new();
    for i in interfaces(k).iter().filter(|i| i.hwtype != ARPHRD_LOOPBACK) {
        if let Some(gw) = i.gateway {
            routes.insert(
                0,
                (i.name, Ipv4Addr::UNSPECIFIED, gw, RTF_UP | RTF_GATEWAY, 0),
            );
        }
        let m = mask(i.prefix_len);
        let net = Ipv4Addr::from_bits(i.addr.to_bits() & m.to_bits());
        routes.push((i.name, net, Ipv4Addr::UNSPECIFIED, RTF_UP, i.prefix_len));
    }
    for (name, dst, gw, flags, prefix) in routes {
        out += &line(&format!(
            "{name}\t{}\t{}\t{flags:04X}\t0\t0\t0\t{}\t0\t0\t0",
            hex(dst),
            hex(gw),
            hex(mask(prefix))
        ));
    }
    out
}

/// An address and port as /proc/net/tcp and udp print them.
fn endpoint(a: core::net::SocketAddrV4) -> String {
    format!("{}:{:04X}", hex(*a.ip()), a.port())
}

/// The stack's sockets of `kind`, with the inode (`socket:[N]`) of each
/// that an open socket names.
fn listed(k: &Kernel, kind: selkie_net::Kind) -> Vec<(selkie_net::SockInfo, u64)> {
    let Some(net) = k.net.as_deref() else {
        return Vec::new();
    };
    let all = net.sockets().unwrap_or_default();
    all.into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| {
            let ino =
                i.id.and_then(|id| k.inet.get(&id.0))
                    .and_then(alloc::rc::Weak::upgrade)
                    .map_or(0, |s| s.id);
            (i, ino)
        })
        .collect()
}

/// /proc/net/tcp: listeners, connections, and TIME_WAIT, as Linux's
/// tcp4_seq_show prints them (each line padded to 149 characters; the
/// timer, retransmission and congestion fields are not kept: 0).
pub(crate) fn proc_tcp(k: &Kernel) -> String {
    let line = |s: &str| format!("{s:<149}\n");
    let mut out = line(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    );
    for (n, (i, ino)) in listed(k, selkie_net::Kind::Tcp).into_iter().enumerate() {
        let head = format!(
            "{n:4}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000",
            endpoint(i.local),
            endpoint(i.remote),
            i.state as u8,
            i.tx_queue,
            i.rx_queue
        );
        out += &line(&if i.state == selkie_net::TcpState::TimeWait {
            format!("{head}     0        0 0 1 0000000000000000")
        } else {
            format!("{head}     0        0 {ino} 1 0000000000000000 0 0 0 10 -1")
        });
    }
    out
}

/// /proc/net/udp: bound UDP sockets, as Linux's udp4_seq_show (lines padded
/// to 127 characters; drops are not counted: 0).
pub(crate) fn proc_udp(k: &Kernel) -> String {
    let line = |s: &str| format!("{s:<127}\n");
    let mut out = line(
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
    );
    for (n, (i, ino)) in listed(k, selkie_net::Kind::Udp).into_iter().enumerate() {
        out += &line(&format!(
            "{n:5}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000     0        0 {ino} 2 0000000000000000 0",
            endpoint(i.local),
            endpoint(i.remote),
            i.state as u8,
            i.tx_queue,
            i.rx_queue
        ));
    }
    out
}

/// The /proc/net files of what does not exist here (no IPv6, no raw
/// sockets): their headers, as Linux prints them with no socket.
pub(crate) fn proc_empty(name: &str) -> Option<&'static str> {
    Some(match name {
        "tcp6" => concat!(
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "\n"
        ),
        "udp6" | "raw6" => concat!(
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
            "\n"
        ),
        "raw" => "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
        _ => return None,
    })
}
