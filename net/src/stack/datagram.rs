//! UDP: sending, receiving whole datagrams, the connected peer's filter.
use super::*;

impl<D: Device> Stack<D> {
    /// Makes sure UDP entry `i` has a bound smoltcp socket (binding it to an
    /// ephemeral port first if needed).
    pub(super) fn udp_ready(&mut self, i: usize) -> Result<SocketHandle, Errno> {
        let Some(Some(e)) = self.table.get(i) else {
            return Err(Errno::EBADF);
        };
        if e.bound.is_none() {
            self.bind_index(i, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let State::Udp(u) = &mut e.state else {
            return Err(Errno::EINVAL);
        };
        if let Some(h) = u.handle {
            return Ok(h);
        }
        let (rx, tx) = e.opt.udp_bufs();
        let h = self.socks.add_udp(rx, tx)?;
        let bound = e
            .bound
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        if self.socks.udp_mut(h).bind(listen_ep(bound)).is_err() {
            self.socks.remove(h);
            return Err(Errno::EINVAL);
        }
        u.handle = Some(h);
        Ok(h)
    }

    pub(super) fn udp_send_to(
        &mut self,
        i: usize,
        data: &[u8],
        dst: SocketAddrV4,
    ) -> Result<usize, Errno> {
        let Some(Some(e)) = self.table.get(i) else {
            return Err(Errno::EBADF);
        };
        if e.shut_wr {
            return Err(Errno::EPIPE);
        }
        let dst_ip = if dst.ip().is_unspecified() {
            Ipv4Addr::LOCALHOST
        } else {
            *dst.ip()
        };
        if dst.port() == 0 {
            return Err(Errno::EINVAL);
        }
        let route = self.route(dst_ip)?;
        if route == Route::Broadcast && !e.opt.broadcast {
            return Err(Errno::EACCES);
        }
        if let Some(b) = e.bound {
            if b.ip().is_loopback() && route != Route::Local {
                return Err(Errno::ENETUNREACH);
            }
        }
        let mtu = self.dev.capabilities().ip_mtu();
        if data.len() > mtu.saturating_sub(UDP_OVERHEAD) {
            return Err(Errno::EMSGSIZE);
        }
        let h = self.udp_ready(i)?;
        let meta = udp::UdpMetadata {
            endpoint: IpEndpoint::new(IpAddress::Ipv4(dst_ip), dst.port()),
            local_address: None,
            meta: PacketMeta::default(),
        };
        match self.socks.udp_mut(h).send_slice(data, meta) {
            Ok(()) => Ok(data.len()),
            Err(udp::SendError::BufferFull) => Err(Errno::EAGAIN),
            Err(_) => Err(Errno::EINVAL),
        }
    }

    pub(super) fn udp_recv(
        &mut self,
        i: usize,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<Recvd, Errno> {
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let shut_rd = e.shut_rd;
        let State::Udp(u) = &mut e.state else {
            return Err(Errno::EINVAL);
        };
        let Some(h) = u.handle else {
            return if shut_rd {
                Ok(Recvd {
                    len: 0,
                    full_len: 0,
                    from: None,
                })
            } else {
                Err(Errno::EAGAIN)
            };
        };
        let s = self.socks.udp_mut(h);
        filter_udp(s, u);
        let got = if peek {
            s.peek().map(|(d, m)| {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                (n, d.len(), m.endpoint)
            })
        } else {
            s.recv().map(|(d, m)| {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                (n, d.len(), m.endpoint)
            })
        };
        filter_udp(s, u);
        match got {
            Ok((len, full_len, from)) => Ok(Recvd {
                len,
                full_len,
                from: Some(sock_v4(from)),
            }),
            Err(_) if shut_rd => Ok(Recvd {
                len: 0,
                full_len: 0,
                from: None,
            }),
            Err(_) => Err(Errno::EAGAIN),
        }
    }
}

/// Drops datagrams at the head of a connected UDP socket's queue that did
/// not come from its peer, and notes the head's length.
pub(super) fn filter_udp(s: &mut udp::Socket<'static>, u: &mut UdpSock) {
    loop {
        let head = match s.peek() {
            Ok((d, m)) => Some((d.len(), sock_v4(m.endpoint))),
            Err(_) => None,
        };
        match (head, u.peer) {
            (Some((_, from)), Some(peer)) if from != peer => {
                let _ = s.recv();
            }
            (h, _) => {
                u.head = h.map(|(n, _)| n);
                return;
            }
        }
    }
}
