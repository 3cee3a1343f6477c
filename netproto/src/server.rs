//! The server end: [`serve`] answers one request from a [`Net`].
use crate::wire::{Request, Writer, SOCKINFO_MAX};
use crate::VERSION;
use selkie_net::{Kind, Net, Recvd, SocketId};
use selkie_proto::{respond, Fail, Server};
use selkie_syscalls::errno::Errno;

/// Bytes of a [`Recvd`] on the wire, at most.
const RECVD_MAX: usize = 8 + 8 + 1 + 6;

/// Answers the encoded `request` from `net`, writing the response into
/// `response`: its length. A malformed request gets an error response. It
/// never writes past `response` nor panics; a buffer too small for even the
/// status (4 bytes) gets an empty response, and the request is not carried
/// out.
pub fn serve(net: &mut dyn Net, request: &[u8], response: &mut [u8]) -> usize {
    respond(response, |w| {
        let req = Request::decode(request)?;
        answer(net, req, w).map_err(|f| f.errno(req.too_big()))
    })
}

/// Calls `net` and writes the fields of an ok response.
fn answer(net: &mut dyn Net, req: Request<'_>, w: &mut Writer<'_>) -> Result<(), Fail> {
    match req {
        Request::Hello { version } if version == VERSION => w.put(&VERSION)?,
        Request::Hello { .. } => return Err(Errno::EPROTONOSUPPORT.into()),
        Request::Socket { kind } => w.put(&net.socket(kind)?)?,
        Request::Bind { id, addr } => net.bind(id, addr)?,
        Request::Listen { id, backlog } => net.listen(id, backlog)?,
        Request::Accept { id } => w.put(&net.accept(id)?)?,
        Request::Connect { id, addr } => net.connect(id, addr)?,
        Request::Disconnect { id } => net.disconnect(id)?,
        Request::Send { id, data, split } => {
            whole_datagrams(net, id, split)?;
            w.put(&net.send(id, data)?)?
        }
        Request::SendTo {
            id,
            data,
            addr,
            split,
        } => {
            whole_datagrams(net, id, split)?;
            w.put(&net.send_to(id, data, addr)?)?
        }
        Request::Recv { id, len, peek } => w.fill(len as usize, |buf| {
            net.recv(id, buf, peek).map_err(Fail::from)
        })?,
        Request::RecvFrom { id, len, peek } => {
            // Room for the Recvd after the bytes: data is never taken that
            // cannot be answered.
            let max = (len as usize).min(w.room().saturating_sub(4 + RECVD_MAX));
            let head = w.len();
            let mut got = None;
            w.fill(max, |buf| {
                let r = net.recv_from(id, buf, peek)?;
                got = Some(r);
                Ok::<_, Fail>(r.len)
            })?;
            if let Some(r) = got {
                let len = w.len() - head - 4;
                w.put(&Recvd { len, ..r })?;
            }
        }
        Request::Shutdown { id, how } => net.shutdown(id, how)?,
        Request::Close { id } => net.close(id)?,
        Request::LocalAddr { id } => w.put(&net.local_addr(id)?)?,
        Request::PeerAddr { id } => w.put(&net.peer_addr(id)?)?,
        Request::SetOption { id, opt, value } => net.set_option(id, opt, value)?,
        Request::GetOption { id, opt } => w.put(&net.get_option(id, opt)?)?,
        Request::TakeError { id } => w.put(&net.take_error(id)?)?,
        Request::Readiness { id } => w.put(&net.readiness(id)?)?,
        Request::PendingBytes { id } => w.put(&net.pending_bytes(id)?)?,
        Request::Kind { id } => w.put(&net.kind(id)?)?,
        Request::Poll { now_ms } => w.put(&net.poll(now_ms))?,
        Request::TakeChanged {} => changed(&net.take_changed(), w)?,
        Request::IfInfo {} => w.put(&net.if_info()?)?,
        Request::Sockets { from } => {
            let all = net.sockets()?;
            let total = u32::try_from(all.len()).map_err(|_| Fail::Full)?;
            let from = (from as usize).min(all.len());
            let fit = w.room().saturating_sub(8) / SOCKINFO_MAX;
            let part = &all[from..all.len().min(from + fit)];
            w.put(&(total, part.len() as u32))?;
            for info in part {
                w.put(info)?;
            }
        }
        Request::ReadinessMany { ids } => {
            w.put(&u32::try_from(ids.len()).map_err(|_| Fail::Full)?)?;
            for id in ids.iter() {
                w.put(&net.readiness(id))?;
            }
        }
    }
    Ok(())
}

/// A datagram socket refuses a send that comes in pieces.
fn whole_datagrams(net: &dyn Net, id: SocketId, split: bool) -> Result<(), Errno> {
    match split && net.kind(id)? == Kind::Udp {
        true => Err(Errno::EMSGSIZE),
        false => Ok(()),
    }
}

/// `below: u32, bitmap: bytes` for the changed ids: the bitmap when it
/// fits, else every id up to the highest.
fn changed(ids: &[SocketId], w: &mut Writer<'_>) -> Result<(), Fail> {
    let Some(top) = ids.iter().map(|id| id.0).max() else {
        return Ok(w.put(&(0u32, &[][..]))?);
    };
    let bytes = top as usize / 8 + 1;
    if w.room() < 4 + 4 + bytes {
        return Ok(w.put(&(top.saturating_add(1), &[][..]))?);
    }
    w.put(&0u32)?;
    w.fill(bytes, |map| {
        map.fill(0);
        for id in ids {
            if let Some(byte) = map.get_mut(id.0 as usize / 8) {
                *byte |= 1 << (id.0 % 8);
            }
        }
        Ok::<_, Fail>(bytes)
    })
}

/// A network stack as a [`Server`] of the net protocol (what a
/// [`Loopback`] serves).
pub struct NetServer<N: Net> {
    /// The stack served.
    pub net: N,
}

impl<N: Net> From<N> for NetServer<N> {
    fn from(net: N) -> Self {
        NetServer { net }
    }
}

impl<N: Net> Server for NetServer<N> {
    fn serve(&mut self, request: &[u8], response: &mut [u8]) -> usize {
        serve(&mut self.net, request, response)
    }
}

/// A [`Transport`](crate::Transport) that serves requests in-process from
/// its own stack, through a response buffer of `capacity` bytes as the
/// shared frames would: for tests, fuzzing, and a LibOS that wants the
/// protocol without a task. `Loopback::new(stack, capacity)` makes one;
/// its stack is `loopback.net`, the requests it served `loopback.served`.
pub type Loopback<N> = selkie_proto::Loopback<NetServer<N>>;
