//! TCP: connect, listen with its backlog, accept, send, recv, shutdown,
//! and connections finishing in the background (orphans).
use super::*;

impl<D: Device> Stack<D> {
    /// Sorts a listener's spare sockets: established ones join the accept
    /// queue, reset ones go, and one socket in LISTEN is kept while the
    /// backlog has room (else SYNs for the port are dropped).
    /// Returns whether the listener's spare came or went.
    pub(super) fn maintain_listener(&mut self, i: usize) -> bool {
        let connect_timeout = self.cfg.connect_timeout_ms;
        let keepalive_ms = self.cfg.keepalive_interval_ms;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return false;
        };
        let opt = e.opt;
        let Some(bound) = e.bound else { return false };
        let State::TcpListen(l) = &mut e.state else {
            return false;
        };
        let socks = &mut self.socks;
        let (mut idle, mut half) = (0, 0);
        let mut j = 0;
        while j < l.pool.len() {
            let h = l.pool[j];
            let s = socks.tcp_mut(h);
            match s.state() {
                TcpState::Listen => {
                    socks.unguard(h);
                    idle += 1;
                    j += 1;
                }
                TcpState::SynReceived => {
                    if let Some(r) = s.remote_endpoint() {
                        let t = (bound.port(), v4(r.addr), r.port);
                        socks.guard(h, t);
                    }
                    half += 1;
                    j += 1;
                }
                TcpState::Closed => {
                    socks.remove(h);
                    l.pool.remove(j);
                }
                _ => {
                    s.set_timeout(None);
                    l.queue.push_back(h);
                    l.pool.remove(j);
                }
            }
        }
        l.queue.retain(|&h| {
            let gone = socks.tcp(h).state() == TcpState::Closed;
            if gone {
                socks.remove(h);
            }
            !gone
        });
        let (rx, tx) = opt.tcp_bufs();
        while idle == 0 && half + l.queue.len() < l.capacity {
            let Ok(h) = socks.add_tcp(rx, tx) else { break };
            let s = socks.tcp_mut(h);
            opt.apply(s, keepalive_ms);
            s.set_timeout(Some(Duration::from_millis(connect_timeout)));
            if s.listen(listen_ep(bound)).is_err() {
                socks.remove(h);
                break;
            }
            l.pool.push(h);
            idle += 1;
        }
        let was = core::mem::replace(&mut l.armed, idle > 0);
        was != l.armed
    }

    /// SYNs are dropped for ports whose listeners are all full.
    pub(super) fn refresh_syn_drop(&mut self) {
        let mut ports: BTreeMap<u16, bool> = BTreeMap::new();
        for &i in &self.listeners {
            if let Some(Some(Entry {
                state: State::TcpListen(l),
                ..
            })) = self.table.get(i)
            {
                *ports.entry(l.port).or_insert(false) |= l.armed;
            }
        }
        self.dev.set_syn_drop(
            ports
                .into_iter()
                .filter(|(_, armed)| !armed)
                .map(|(p, _)| p),
        );
    }

    pub(super) fn maintain_listeners(&mut self) {
        let mut changed = false;
        for k in 0..self.listeners.len() {
            let i = self.listeners[k];
            changed |= self.maintain_listener(i);
        }
        if changed {
            self.refresh_syn_drop();
        }
        self.sync_guard();
    }

    pub(super) fn sync_guard(&mut self) {
        if self.socks.guard_changed {
            self.socks.guard_changed = false;
            self.dev.set_guarded(self.socks.guarded.values().copied());
        }
    }

    /// Aborts (resets) the connections of a listener and frees its spares.
    pub(super) fn stop_listening(&mut self, i: usize, l: Listener) {
        for h in l.pool {
            self.socks.remove(h);
        }
        for h in l.queue {
            self.socks.tcp_mut(h).abort();
            self.orphan(h, false, false, true);
        }
        self.listeners.retain(|&k| k != i);
        self.refresh_syn_drop();
        self.sync_guard();
    }

    /// Hands TCP socket `h` over to the background.
    pub(super) fn orphan(
        &mut self,
        h: SocketHandle,
        reuse_addr: bool,
        reuse_port: bool,
        aborted: bool,
    ) {
        let s = self.socks.tcp(h);
        let local = s
            .local_endpoint()
            .map(sock_v4)
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let o = Orphan {
            handle: h,
            local,
            reuse_addr,
            reuse_port,
            seen: s.state(),
            aborted: aborted.then_some(self.now),
            progress: self.now,
            last_queue: s.send_queue(),
            fin_wait2_since: self.now,
        };
        if self.orphans.try_reserve(1).is_err() {
            self.socks.remove(h);
            return;
        }
        self.orphans.push(o);
    }

    pub(super) fn update_orphans(&mut self) {
        let now = self.now;
        let data_timeout = self.cfg.data_timeout_ms;
        let fin_timeout = self.cfg.fin_timeout_ms;
        let mut k = 0;
        while k < self.orphans.len() {
            let o = &mut self.orphans[k];
            let s = self.socks.tcp_mut(o.handle);
            let st = s.state();
            if st != o.seen {
                o.seen = st;
                o.progress = now;
                if st == TcpState::FinWait2 {
                    o.fin_wait2_since = now;
                }
            }
            let q = s.send_queue();
            if q < o.last_queue {
                o.progress = now;
            }
            o.last_queue = q;
            let done = match st {
                TcpState::Closed => match o.aborted {
                    Some(t) => s.local_endpoint().is_none() || now >= t + ABORT_LINGER_MS,
                    None => true,
                },
                TcpState::TimeWait => {
                    let remote = s
                        .remote_endpoint()
                        .map(sock_v4)
                        .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
                    if self.cfg.time_wait_ms > 0 && self.time_wait.try_reserve(1).is_ok() {
                        self.time_wait.push(TimeWait {
                            local: o.local,
                            remote,
                            reuse_addr: o.reuse_addr,
                            reuse_port: o.reuse_port,
                            until: now.saturating_add(self.cfg.time_wait_ms),
                        });
                    }
                    true
                }
                // Closed while connecting: nothing to finish.
                TcpState::SynSent | TcpState::Listen => true,
                _ => {
                    if o.aborted.is_none()
                        && (s.recv_queue() > 0
                            || (st == TcpState::FinWait2
                                && now >= o.fin_wait2_since.saturating_add(fin_timeout))
                            || (busy(st, q) && now >= o.progress.saturating_add(data_timeout)))
                    {
                        s.abort();
                        o.aborted = Some(now);
                    }
                    false
                }
            };
            if done {
                let h = o.handle;
                self.socks.remove(h);
                self.orphans.swap_remove(k);
            } else {
                k += 1;
            }
        }
    }

    pub(super) fn tcp_connect(&mut self, i: usize, dst: SocketAddrV4) -> Result<(), Errno> {
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &mut e.state {
            State::TcpListen(_) => return Err(Errno::EISCONN),
            State::TcpFailed => {
                let err = e.error.take().unwrap_or(Errno::ECONNABORTED);
                e.state = State::TcpIdle;
                return Err(err);
            }
            State::TcpConn(c) => {
                if c.connecting {
                    return Err(Errno::EALREADY);
                }
                if c.reported {
                    return Err(Errno::EISCONN);
                }
                c.reported = true;
                return match e.error.take() {
                    Some(err) if c.seen == TcpState::Closed => Err(err),
                    other => {
                        e.error = other;
                        Ok(())
                    }
                };
            }
            State::TcpIdle => {}
            State::Udp(_) => return Err(Errno::EINVAL),
        }
        let dst_ip = if dst.ip().is_unspecified() {
            Ipv4Addr::LOCALHOST
        } else {
            *dst.ip()
        };
        let route = self.route(dst_ip)?;
        if route == Route::Broadcast {
            return Err(Errno::ENETUNREACH);
        }
        if dst.port() == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        if let Some(b) = self.table[i].as_ref().and_then(|e| e.bound) {
            if b.ip().is_loopback() && route != Route::Local {
                return Err(Errno::ENETUNREACH);
            }
        }
        let fresh_bind = self.table[i].as_ref().is_some_and(|e| e.bound.is_none());
        if fresh_bind {
            let port = self.ephemeral(Kind::Tcp).ok_or(Errno::EADDRNOTAVAIL)?;
            if let Some(Some(e)) = self.table.get_mut(i) {
                e.bound = Some(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
                e.auto_port = true;
            }
        }
        let now = self.now;
        let keepalive_ms = self.cfg.keepalive_interval_ms;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let bound = e
            .bound
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let undo = |e: &mut Entry| {
            if fresh_bind {
                e.bound = None;
                e.auto_port = false;
            }
        };
        let (rx, tx) = e.opt.tcp_bufs();
        let h = match self.socks.add_tcp(rx, tx) {
            Ok(h) => h,
            Err(err) => {
                undo(e);
                return Err(err);
            }
        };
        let s = self.socks.tcp_mut(h);
        e.opt.apply(s, keepalive_ms);
        let remote = IpEndpoint::new(IpAddress::Ipv4(dst_ip), dst.port());
        if s.connect(self.iface.context(), remote, listen_ep(bound))
            .is_err()
        {
            self.socks.remove(h);
            undo(e);
            return Err(Errno::ENETUNREACH);
        }
        let local = s
            .local_endpoint()
            .map(sock_v4)
            .unwrap_or(SocketAddrV4::new(*bound.ip(), bound.port()));
        e.shut_rd = false;
        e.shut_wr = false;
        e.state = State::TcpConn(Conn {
            handle: h,
            local,
            peer: SocketAddrV4::new(dst_ip, dst.port()),
            hop: route.hop(),
            seen: TcpState::SynSent,
            connecting: true,
            reported: false,
            aborted: false,
            since: now,
            progress: now,
            last_queue: 0,
        });
        Err(Errno::EINPROGRESS)
    }

    pub(super) fn tcp_listen(&mut self, i: usize, backlog: u32) -> Result<(), Errno> {
        let capacity = backlog.min(self.cfg.max_backlog) as usize + 1;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &mut e.state {
            State::TcpListen(l) => {
                l.capacity = capacity;
                self.maintain_listeners();
                return Ok(());
            }
            State::TcpIdle | State::TcpFailed => {}
            _ => return Err(Errno::EINVAL),
        }
        if e.bound.is_none() {
            self.bind_index(i, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let Some(b) = self.table[i].as_ref().and_then(|e| e.bound) else {
            return Err(Errno::EINVAL);
        };
        if self.conflicts(i, Kind::Tcp, *b.ip(), b.port()) {
            return Err(Errno::EADDRINUSE);
        }
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        e.error = None;
        e.state = State::TcpListen(Listener {
            port: b.port(),
            armed: false,
            capacity,
            pool: Vec::new(),
            queue: VecDeque::new(),
        });
        if self.listeners.try_reserve(1).is_err() {
            e.state = State::TcpIdle;
            return Err(Errno::ENOMEM);
        }
        self.listeners.push(i);
        self.maintain_listener(i);
        let armed = match self.table[i].as_ref().map(|e| &e.state) {
            Some(State::TcpListen(l)) => !l.pool.is_empty(),
            _ => false,
        };
        if !armed {
            if let Some(Some(e)) = self.table.get_mut(i) {
                let old = core::mem::replace(&mut e.state, State::TcpIdle);
                if let State::TcpListen(l) = old {
                    self.stop_listening(i, l);
                }
            }
            return Err(Errno::ENOMEM);
        }
        self.refresh_syn_drop();
        self.sync_guard();
        Ok(())
    }

    pub(super) fn tcp_accept(&mut self, i: usize) -> Result<(SocketId, SocketAddrV4), Errno> {
        if self.open >= self.cfg.max_sockets {
            let Some(Some(e)) = self.table.get(i) else {
                return Err(Errno::EBADF);
            };
            return match &e.state {
                State::TcpListen(l) if !l.queue.is_empty() => Err(Errno::ENOBUFS),
                State::TcpListen(_) => Err(Errno::EAGAIN),
                _ => Err(Errno::EINVAL),
            };
        }
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        let opt = e.opt;
        let State::TcpListen(l) = &mut e.state else {
            return Err(Errno::EINVAL);
        };
        let h = loop {
            let Some(h) = l.queue.pop_front() else {
                return Err(Errno::EAGAIN);
            };
            let s = self.socks.tcp(h);
            if s.state() == TcpState::Closed || s.remote_endpoint().is_none() {
                self.socks.remove(h);
                continue;
            }
            break h;
        };
        let s = self.socks.tcp(h);
        let (Some(local), Some(peer)) = (s.local_endpoint(), s.remote_endpoint()) else {
            self.socks.remove(h);
            return Err(Errno::EAGAIN);
        };
        let (local, peer) = (sock_v4(local), sock_v4(peer));
        let entry = Entry {
            kind: Kind::Tcp,
            opt,
            bound: Some(local),
            auto_port: false,
            error: None,
            shut_rd: false,
            shut_wr: false,
            seen: Seen::default(),
            state: State::TcpConn(Conn {
                handle: h,
                local,
                peer,
                hop: None,
                seen: s.state(),
                connecting: false,
                reported: true,
                aborted: false,
                since: self.now,
                progress: self.now,
                last_queue: s.send_queue(),
            }),
        };
        match self.insert(entry) {
            Ok(id) => {
                self.maintain_listeners();
                Ok((id, peer))
            }
            Err(err) => {
                if let Some(Some(e)) = self.table.get_mut(i) {
                    if let State::TcpListen(l) = &mut e.state {
                        l.queue.push_front(h);
                        return Err(err);
                    }
                }
                self.socks.remove(h);
                Err(err)
            }
        }
    }

    pub(super) fn tcp_send(&mut self, i: usize, data: &[u8]) -> Result<usize, Errno> {
        let now = self.now;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &mut e.state {
            State::TcpIdle | State::TcpListen(_) => Err(Errno::EPIPE),
            State::TcpFailed => Err(e.error.take().unwrap_or(Errno::EPIPE)),
            State::TcpConn(c) => {
                if c.connecting {
                    return Err(Errno::EAGAIN);
                }
                if let Some(err) = e.error.take() {
                    return Err(err);
                }
                let s = self.socks.tcp_mut(c.handle);
                if e.shut_wr || !s.may_send() {
                    return Err(Errno::EPIPE);
                }
                if data.is_empty() {
                    return Ok(0);
                }
                let was_empty = s.send_queue() == 0;
                let n = s.send_slice(data).map_err(|_| Errno::EPIPE)?;
                if n == 0 {
                    return Err(Errno::EAGAIN);
                }
                if was_empty {
                    c.progress = now;
                }
                c.last_queue = s.send_queue();
                Ok(n)
            }
            State::Udp(_) => Err(Errno::EINVAL),
        }
    }

    pub(super) fn tcp_recv(
        &mut self,
        i: usize,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<usize, Errno> {
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &mut e.state {
            State::TcpIdle | State::TcpListen(_) => Err(Errno::ENOTCONN),
            State::TcpFailed => match e.error.take() {
                Some(err) if !buf.is_empty() => Err(err),
                other => {
                    e.error = other;
                    Ok(0)
                }
            },
            State::TcpConn(c) => {
                if c.connecting {
                    return Err(Errno::EAGAIN);
                }
                if buf.is_empty() {
                    return Ok(0);
                }
                let s = self.socks.tcp_mut(c.handle);
                if s.recv_queue() > 0 {
                    let n = if peek {
                        s.peek_slice(buf)
                    } else {
                        s.recv_slice(buf)
                    };
                    return Ok(n.unwrap_or(0));
                }
                if let Some(err) = e.error.take() {
                    return Err(err);
                }
                if e.shut_rd || rx_closed(s.state()) {
                    Ok(0)
                } else {
                    Err(Errno::EAGAIN)
                }
            }
            State::Udp(_) => Err(Errno::EINVAL),
        }
    }

    pub(super) fn tcp_shutdown(&mut self, i: usize, how: Shutdown) -> Result<(), Errno> {
        let now = self.now;
        let Some(Some(e)) = self.table.get_mut(i) else {
            return Err(Errno::EBADF);
        };
        match &mut e.state {
            State::TcpIdle | State::TcpFailed => Err(Errno::ENOTCONN),
            State::TcpListen(_) => {
                if how.read() {
                    let old = core::mem::replace(&mut e.state, State::TcpIdle);
                    if let State::TcpListen(l) = old {
                        self.stop_listening(i, l);
                    }
                }
                Ok(())
            }
            State::TcpConn(c) => {
                if c.connecting {
                    let h = c.handle;
                    self.socks.remove(h);
                    e.state = State::TcpIdle;
                    if e.auto_port {
                        e.bound = None;
                    }
                    return Ok(());
                }
                if how.read() {
                    e.shut_rd = true;
                }
                if how.write() && !e.shut_wr {
                    e.shut_wr = true;
                    self.socks.tcp_mut(c.handle).close();
                    c.progress = now;
                }
                Ok(())
            }
            State::Udp(_) => Err(Errno::EINVAL),
        }
    }
}
