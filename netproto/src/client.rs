//! The client end: a [`Net`] that sends every call over a [`Transport`].
use crate::wire::{Request, Wire};
use crate::{Transport, MIN_CAPACITY, VERSION};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::SocketAddrV4;
use selkie_net::{IfInfo, Kind, Net, Ready, Recvd, Shutdown, SockInfo, SockOpt, SocketId};
use selkie_proto::{chunked, CallError, ConnectError, DecodeError, Get, Link, Reader};
use selkie_syscalls::errno::Errno;

/// Bytes of a request or response besides its one byte string, at most
/// (`SendTo` has 19, a `RecvFrom` answer 31): a data piece is the capacity
/// less this.
const HEADROOM: usize = 64;

/// Bytes of one id's answer to `ReadinessMany`, at most.
const READY_MAX: usize = 4 + 1;

/// The most ids a `TakeChanged` answer may name by `below` (Linux's
/// `nr_open`, the most descriptors a process can have); more is malformed.
const BELOW_MAX: u32 = 1 << 20;

/// A [`Net`] served over a [`Transport`] (the net service task).
///
/// Queries take `&self`, so the transport lives in a [`RefCell`]. Bulk data
/// is cut to fit the buffers: a `send` or `send_to` larger than one piece
/// (the capacity less 64 bytes) goes in pieces and answers the bytes
/// accepted, stopping at the first piece accepted short, as `write` does
/// (a datagram socket refuses such a send with EMSGSIZE: a datagram is
/// never split); a `recv` or `recv_from` asks for at most one piece.
///
/// A malformed response fails its call with EIO. Once the transport
/// reports [`Dead`](crate::Dead), every call fails with EIO without asking
/// it again, [`poll`](Net::poll) answers `None` and
/// [`take_changed`](Net::take_changed) an empty list.
pub struct Client<T: Transport> {
    link: RefCell<Link<T, Wire>>,
    /// The largest data piece of one message.
    room: usize,
}

impl<T: Transport> Client<T> {
    /// Says Hello over `transport`: checks the buffers' size and the
    /// version.
    pub fn connect(transport: T) -> Result<Self, ConnectError> {
        let capacity = transport.capacity();
        let hello = Request::Hello { version: VERSION };
        let (link, ()) = Link::connect(transport, MIN_CAPACITY, &hello, VERSION, |r| {
            Ok((r.get()?, ()))
        })?;
        Ok(Client {
            link: RefCell::new(link),
            room: capacity - HEADROOM,
        })
    }

    /// The transport (for tests that look behind it).
    pub fn transport_mut(&mut self) -> &mut T {
        self.link.get_mut().transport_mut()
    }

    /// Whether the transport has reported the service dead.
    pub fn is_dead(&self) -> bool {
        self.link.borrow().is_dead()
    }

    /// The largest piece of data one request or response carries.
    pub fn piece(&self) -> usize {
        self.room
    }

    /// [`readiness`](Net::readiness) of every id, in order, in as few
    /// round trips as the buffers allow (for poll, select and epoll over
    /// many sockets).
    pub fn readiness_many(&self, ids: &[SocketId]) -> Vec<Result<Ready, Errno>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.room / READY_MAX) {
            let req = Request::ReadinessMany { ids: chunk.into() };
            let answers = self.call_with(req, |r| {
                if r.get::<u32>()? as usize != chunk.len() {
                    return Err(DecodeError::BadValue);
                }
                chunk
                    .iter()
                    .map(|_| r.get())
                    .collect::<Result<Vec<Result<Ready, Errno>>, _>>()
            });
            match answers {
                Ok(answers) => out.extend(answers),
                Err(e) => out.extend(chunk.iter().map(|_| Err(e))),
            }
        }
        out
    }

    /// Sends `req` and decodes an ok response with `answer`; the errno of
    /// the call.
    fn call_with<R>(
        &self,
        req: Request<'_>,
        answer: impl FnOnce(&mut Reader<'_, Wire>) -> Result<R, DecodeError>,
    ) -> Result<R, Errno> {
        let result = self.link.borrow_mut().call(&req, answer);
        result.map_err(|e| match e {
            CallError::Dead | CallError::Malformed => Errno::EIO,
            CallError::Status(e) => e,
            CallError::TooBig => req.too_big(),
        })
    }

    /// Sends `req`; its response's value.
    fn call<V: for<'b> Get<'b, Wire>>(&self, req: Request<'_>) -> Result<V, Errno> {
        self.call_with(req, |r| r.get())
    }

    /// Sends `data` in pieces with `piece(data, split)`, which answers the
    /// bytes the service took of it (more than it was given is malformed).
    fn send_pieces(
        &self,
        data: &[u8],
        piece: impl Fn(&[u8], bool) -> Request<'_>,
    ) -> Result<usize, Errno> {
        let split = data.len() > self.room;
        chunked(data.len(), self.room, |p| {
            let data = &data[p];
            match self.call::<usize>(piece(data, split))? {
                n if n <= data.len() => Ok(n),
                _ => Err(Errno::EIO),
            }
        })
    }
}

/// Copies `data` into the front of `buf`, which must hold it.
fn copy_in(buf: &mut [u8], data: &[u8]) -> Result<usize, DecodeError> {
    let dst = buf.get_mut(..data.len()).ok_or(DecodeError::BadValue)?;
    dst.copy_from_slice(data);
    Ok(data.len())
}

impl<T: Transport> Net for Client<T> {
    fn socket(&mut self, kind: Kind) -> Result<SocketId, Errno> {
        self.call(Request::Socket { kind })
    }
    fn bind(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno> {
        self.call(Request::Bind { id, addr })
    }
    fn listen(&mut self, id: SocketId, backlog: u32) -> Result<(), Errno> {
        self.call(Request::Listen { id, backlog })
    }
    fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4), Errno> {
        self.call(Request::Accept { id })
    }
    fn connect(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<(), Errno> {
        self.call(Request::Connect { id, addr })
    }
    fn disconnect(&mut self, id: SocketId) -> Result<(), Errno> {
        self.call(Request::Disconnect { id })
    }
    fn send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, Errno> {
        self.send_pieces(data, |data, split| Request::Send { id, data, split })
    }
    fn send_to(&mut self, id: SocketId, data: &[u8], addr: SocketAddrV4) -> Result<usize, Errno> {
        self.send_pieces(data, |data, split| Request::SendTo {
            id,
            data,
            addr,
            split,
        })
    }
    fn recv(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        let len = buf.len().min(self.room);
        let req = Request::Recv {
            id,
            len: len as u32,
            peek,
        };
        self.call_with(req, |r| copy_in(&mut buf[..len], r.get()?))
    }
    fn recv_from(&mut self, id: SocketId, buf: &mut [u8], peek: bool) -> Result<Recvd, Errno> {
        let len = buf.len().min(self.room);
        let req = Request::RecvFrom {
            id,
            len: len as u32,
            peek,
        };
        self.call_with(req, |r| {
            let (data, recvd): (&[u8], Recvd) = r.get()?;
            if recvd.len != data.len() || recvd.full_len < recvd.len {
                return Err(DecodeError::BadValue);
            }
            copy_in(&mut buf[..len], data)?;
            Ok(recvd)
        })
    }
    fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        self.call(Request::Shutdown { id, how })
    }
    fn close(&mut self, id: SocketId) -> Result<(), Errno> {
        self.call(Request::Close { id })
    }
    fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.call(Request::LocalAddr { id })
    }
    fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        self.call(Request::PeerAddr { id })
    }
    fn set_option(&mut self, id: SocketId, opt: SockOpt, value: i32) -> Result<(), Errno> {
        self.call(Request::SetOption { id, opt, value })
    }
    fn get_option(&mut self, id: SocketId, opt: SockOpt) -> Result<i32, Errno> {
        self.call(Request::GetOption { id, opt })
    }
    fn take_error(&mut self, id: SocketId) -> Result<Option<Errno>, Errno> {
        self.call(Request::TakeError { id })
    }
    fn readiness(&self, id: SocketId) -> Result<Ready, Errno> {
        self.call(Request::Readiness { id })
    }
    fn pending_bytes(&self, id: SocketId) -> Result<usize, Errno> {
        self.call(Request::PendingBytes { id })
    }
    fn kind(&self, id: SocketId) -> Result<Kind, Errno> {
        self.call(Request::Kind { id })
    }
    /// `None` when the service is dead.
    fn poll(&mut self, now_ms: u64) -> Option<u64> {
        self.call(Request::Poll { now_ms }).unwrap_or(None)
    }
    /// Empty when the service is dead.
    fn take_changed(&mut self) -> Vec<SocketId> {
        let changed = self.call_with(Request::TakeChanged {}, |r| {
            let (below, map): (u32, &[u8]) = r.get()?;
            if below > BELOW_MAX {
                return Err(DecodeError::BadValue);
            }
            let mut ids: Vec<SocketId> = (0..below).map(SocketId).collect();
            for (i, byte) in map.iter().enumerate() {
                for bit in (0..8).filter(|b| byte & (1 << b) != 0) {
                    let id = u32::try_from(i * 8 + bit).map_err(|_| DecodeError::BadValue)?;
                    if id >= below {
                        ids.push(SocketId(id));
                    }
                }
            }
            Ok(ids)
        });
        changed.unwrap_or_default()
    }
    fn if_info(&self) -> Result<IfInfo, Errno> {
        self.call(Request::IfInfo {})
    }
    /// In as many round trips as the buffers need.
    fn sockets(&self) -> Result<Vec<SockInfo>, Errno> {
        let mut all = Vec::new();
        loop {
            let from = u32::try_from(all.len()).map_err(|_| Errno::EIO)?;
            let total = self.call_with(Request::Sockets { from }, |r| {
                let (total, count): (u32, u32) = r.get()?;
                if total > BELOW_MAX || count > total.saturating_sub(from) {
                    return Err(DecodeError::BadValue);
                }
                for _ in 0..count {
                    all.push(r.get()?);
                }
                Ok(total)
            })?;
            if all.len() >= total as usize {
                return Ok(all);
            }
            if all.len() == from as usize {
                // No progress: the service answers nothing that fits.
                return Err(Errno::EIO);
            }
        }
    }
}
