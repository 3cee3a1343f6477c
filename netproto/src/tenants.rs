//! Several clients (LibOS instances) sharing one stack: [`Tenants`] serves
//! each through a view of the stack in which only its own sockets exist.
use crate::server::serve;
use crate::wire::Writer;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::net::SocketAddrV4;
use selkie_net::{IfInfo, Kind, Net, Ready, Recvd, Shutdown, SockInfo, SockOpt, SocketId};
use selkie_proto::respond;
use selkie_syscalls::errno::Errno;

/// The clients [`Tenants`] tells apart: 0 and 1..=8.
pub const MAX_CLIENTS: usize = 9;

/// Several clients (LibOS instances, numbered `0..MAX_CLIENTS`) sharing one
/// stack: each sees and touches only its own sockets.
///
/// The stack's socket ids are global (the lowest free one, whoever asks), so
/// a client's ids need not start at 0 nor be contiguous; the view only keeps
/// the owner of each id and checks it. What the clients share is what one
/// host's processes share: the interface, its address and its port space.
///
/// | call | through the view |
/// | --- | --- |
/// | `socket` | made in the stack; the client owns it |
/// | `accept` on an owned listener | the new connection is the client's too |
/// | `close` | closed in the stack; the id is forgotten |
/// | `bind` to a port another client's socket holds (same kind) | `EADDRINUSE`, whatever `SO_REUSEADDR`/`SO_REUSEPORT` say: a client never shares a port with another, so it cannot take its connections or datagrams |
/// | any other call on an id | as the stack's, when the client owns the id |
/// | any call on an id the client does not own | `EBADF`, what the stack answers for an id that is not open; the stack is not called |
/// | `take_changed` | first every change the stack has is moved into its owner's pending set, then the client's set is answered and emptied; changes of ids nobody owns are dropped |
/// | `poll` | the stack's, then changes are collected as above; the time is cut to the service's clock when one is set ([`Tenants::set_clock`]) |
/// | `sockets` | only the entries naming an id the client owns (connections waiting to be accepted, closing orphans and TIME_WAIT name none, so no client sees them) |
/// | `if_info` | the stack's: the interface is shared |
///
/// A request for a client number out of range gets an `EINVAL` response.
///
/// The service answers client `c`'s request with
/// [`serve`](Tenants::serve)`(net, c, ...)`; after polling the stack on
/// its own (frames came in, a deadline passed) it calls
/// [`collect_changes`](Tenants::collect_changes) and signals every client
/// that [`has_changes`](Tenants::has_changes); when an instance stops, it
/// calls [`drop_client`](Tenants::drop_client).
#[derive(Debug, Default)]
pub struct Tenants {
    /// The owner of every open socket id the clients made.
    owners: BTreeMap<SocketId, u8>,
    /// Each client's changed sockets not yet taken.
    pending: [BTreeSet<SocketId>; MAX_CLIENTS],
    /// The service's clock, when set: no client's poll time goes past it.
    clock: Option<u64>,
}

impl Tenants {
    /// No clients, no sockets.
    pub fn new() -> Tenants {
        Tenants::default()
    }

    /// Answers `client`'s encoded `request` as [`serve`] would, but through
    /// a view of `net` in which only the client's own sockets exist. A
    /// client number out of range gets an `EINVAL` response (nothing is
    /// carried out).
    pub fn serve(
        &mut self,
        net: &mut dyn Net,
        client: usize,
        request: &[u8],
        response: &mut [u8],
    ) -> usize {
        if client >= MAX_CLIENTS {
            return respond(response, |_: &mut Writer<'_>| Err(Errno::EINVAL));
        }
        let mut view = View {
            net,
            t: self,
            client,
        };
        serve(&mut view, request, response)
    }

    /// Moves what the stack says changed (`net.take_changed()`) into the
    /// owners' pending sets; call after polling the stack. Changes of ids
    /// no client owns are dropped.
    pub fn collect_changes(&mut self, net: &mut dyn Net) {
        for id in net.take_changed() {
            if let Some(&c) = self.owners.get(&id) {
                self.pending[c as usize].insert(id);
            }
        }
    }

    /// Whether `client` has changes it has not taken yet (the service
    /// signals such clients). False for a client number out of range.
    pub fn has_changes(&self, client: usize) -> bool {
        self.pending.get(client).is_some_and(|s| !s.is_empty())
    }

    /// The client is gone (its instance stopped): closes every socket it
    /// owned, as the exit of a process closes its descriptors (connections
    /// close gracefully in the background, or with a reset when unread
    /// data is left; listeners reset the connections waiting on them), and
    /// forgets it. Its number may then serve a new instance, which starts
    /// with no sockets.
    pub fn drop_client(&mut self, net: &mut dyn Net, client: usize) {
        let Some(pending) = self.pending.get_mut(client) else {
            return;
        };
        pending.clear();
        let mine: Vec<SocketId> = self
            .owners
            .iter()
            .filter(|(_, &c)| c as usize == client)
            .map(|(&id, _)| id)
            .collect();
        for id in mine {
            // EBADF would mean the stack forgot it already: forgotten here
            // too either way.
            let _ = net.close(id);
            self.owners.remove(&id);
        }
    }

    /// The service's clock (milliseconds, the clock clients poll with):
    /// from now on a client's poll time is cut to the latest value set, so
    /// that no client can move the shared stack's clock ahead of real time
    /// (which would time out every client's connections and then stall the
    /// stack's timers). Until set, clients' times pass unchanged.
    pub fn set_clock(&mut self, now_ms: u64) {
        self.clock = Some(now_ms);
    }

    /// The client that owns `id`, if any.
    pub fn owner(&self, id: SocketId) -> Option<usize> {
        self.owners.get(&id).map(|&c| c as usize)
    }
}

/// The stack as one client sees it.
struct View<'a> {
    net: &'a mut dyn Net,
    t: &'a mut Tenants,
    client: usize,
}

impl View<'_> {
    /// `EBADF`, as the stack answers an id that is not open, unless the
    /// client owns `id`.
    fn mine(&self, id: SocketId) -> Result<(), Errno> {
        match self.t.owners.get(&id) {
            Some(&c) if c as usize == self.client => Ok(()),
            _ => Err(Errno::EBADF),
        }
    }

    fn own(&mut self, id: SocketId) {
        self.t.owners.insert(id, self.client as u8);
    }

    /// Whether a socket of another client holds `port` for `kind`.
    fn foreign_port(&self, kind: Kind, port: u16) -> bool {
        self.t
            .owners
            .iter()
            .filter(|(_, &c)| c as usize != self.client)
            .any(|(&id, _)| {
                self.net.kind(id) == Ok(kind)
                    && self.net.local_addr(id).is_ok_and(|a| a.port() == port)
            })
    }
}

impl Net for View<'_> {
    fn socket(&mut self, kind: Kind) -> Result<SocketId, Errno> {
        let id = self.net.socket(kind)?;
        self.own(id);
        Ok(id)
    }

    fn bind(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno> {
        self.mine(id)?;
        // A socket already bound is the stack's to refuse (EINVAL).
        if addr.port() != 0
            && self.net.local_addr(id)?.port() == 0
            && self.foreign_port(self.net.kind(id)?, addr.port())
        {
            return Err(Errno::EADDRINUSE);
        }
        self.net.bind(id, addr)
    }

    fn listen(&mut self, id: SocketId, backlog: u32) -> Result<(), Errno> {
        self.mine(id)?;
        self.net.listen(id, backlog)
    }

    fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4), Errno> {
        self.mine(id)?;
        let (new, peer) = self.net.accept(id)?;
        self.own(new);
        Ok((new, peer))
    }

    fn connect(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno> {
        self.mine(id)?;
        self.net.connect(id, addr)
    }

    fn disconnect(&mut self, id: SocketId) -> Result<(), Errno> {
        self.mine(id)?;
        self.net.disconnect(id)
    }

    fn send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, Errno> {
        self.mine(id)?;
        self.net.send(id, data)
    }

    fn send_to(&mut self, id: SocketId, data: &[u8], addr: SocketAddrV4) -> Result<usize, Errno> {
        self.mine(id)?;
        self.net.send_to(id, data, addr)
    }

    fn recv(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        self.mine(id)?;
        self.net.recv(id, buf, peek)
    }

    fn recv_from(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<Recvd, Errno> {
        self.mine(id)?;
        self.net.recv_from(id, buf, peek)
    }

    fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        self.mine(id)?;
        self.net.shutdown(id, how)
    }

    fn close(&mut self, id: SocketId) -> Result<(), Errno> {
        self.mine(id)?;
        let r = self.net.close(id);
        // close(2) frees the id even when it fails; EBADF means the stack
        // had forgotten it.
        self.t.owners.remove(&id);
        self.t.pending[self.client].remove(&id);
        r
    }

    fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.mine(id)?;
        self.net.local_addr(id)
    }

    fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.mine(id)?;
        self.net.peer_addr(id)
    }

    fn set_option(&mut self, id: SocketId, opt: SockOpt, value: i32) -> Result<(), Errno> {
        self.mine(id)?;
        self.net.set_option(id, opt, value)
    }

    fn get_option(&mut self, id: SocketId, opt: SockOpt) -> Result<i32, Errno> {
        self.mine(id)?;
        self.net.get_option(id, opt)
    }

    fn take_error(&mut self, id: SocketId) -> Result<Option<Errno>, Errno> {
        self.mine(id)?;
        self.net.take_error(id)
    }

    fn readiness(&self, id: SocketId) -> Result<Ready, Errno> {
        self.mine(id)?;
        self.net.readiness(id)
    }

    fn pending_bytes(&self, id: SocketId) -> Result<usize, Errno> {
        self.mine(id)?;
        self.net.pending_bytes(id)
    }

    fn kind(&self, id: SocketId) -> Result<Kind, Errno> {
        self.mine(id)?;
        self.net.kind(id)
    }

    fn poll(&mut self, now_ms: u64) -> Option<u64> {
        let now = self.t.clock.map_or(now_ms, |c| now_ms.min(c));
        let next = self.net.poll(now);
        self.t.collect_changes(self.net);
        next
    }

    fn take_changed(&mut self) -> Vec<SocketId> {
        self.t.collect_changes(self.net);
        core::mem::take(&mut self.t.pending[self.client])
            .into_iter()
            .collect()
    }

    fn sockets(&self) -> Result<Vec<SockInfo>, Errno> {
        let mut all = self.net.sockets()?;
        all.retain(|s| s.id.is_some_and(|id| self.mine(id).is_ok()));
        Ok(all)
    }

    fn if_info(&self) -> Result<IfInfo, Errno> {
        self.net.if_info()
    }
}
