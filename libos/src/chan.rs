//! Inter-instance channels: `/dev/chan/NAME`, a byte stream to a program in
//! another LibOS instance. The platform hands the LibOS one end of each
//! channel ([`ChannelEnd`], shared-memory rings on seL4) with
//! [`Kernel::add_channel`], and calls [`Kernel::channel_event`] when the
//! peer signals (data came, room was freed, the peer stopped).
//!
//! Every open of the device shares the one end, as opens of a tty share
//! the terminal. Reads and writes behave as on a stream socket: a read
//! returns what is there and waits when nothing is (EOF once the peer is
//! gone and the data drained); a blocking write waits for room until all
//! is written; a write after the peer is gone raises SIGPIPE and fails
//! with EPIPE. Waits use the pipes' queues ([`Kernel::wake_pipe`]).
use crate::kernel::Kernel;
use crate::platform::{ChannelEnd, Platform};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use selkie_fs::{FileSystem, Ino, Kind};
use selkie_syscalls::errno::Errno;

/// Device major of `/dev/chan/NAME` (one of Linux's majors for local use);
/// the minor is the channel's index.
pub const CHAN_MAJOR: u64 = 240;
/// Most channels of one instance (the minors of one major).
pub const MAX_CHANNELS: usize = 256;

/// One channel of this instance.
pub struct Channel {
    /// NAME of /dev/chan/NAME.
    pub name: String,
    /// Wait-queue identity (shared with pipes, eventfds, sockets).
    pub id: u64,
    /// The device node and its number.
    pub ino: Ino,
    pub rdev: u64,
    /// This instance's end.
    pub end: Box<dyn ChannelEnd>,
    /// Bumped on every change of readiness (a read, a write, an event of
    /// the peer): edge-triggered epoll reports once per change.
    pub generation: u64,
}

impl Channel {
    /// Takes up to `max` bytes; None when nothing is waiting.
    pub(crate) fn take(&mut self, max: usize) -> Option<Vec<u8>> {
        let avail = self.end.available();
        if avail == 0 || max == 0 {
            return None;
        }
        let mut data = alloc::vec![0u8; max.min(avail).min(1 << 20)];
        let n = self.end.recv(&mut data);
        if n == 0 {
            return None;
        }
        data.truncate(n);
        self.generation += 1;
        Some(data)
    }
}

impl Kernel {
    /// Makes the character device `/dev/chan/NAME` for `end` (and the
    /// directory /dev/chan with the first one). Every open of it shares
    /// `end`. EINVAL for a name that is no file name (empty, `.`, `..`,
    /// holding `/` or NUL), ENAMETOOLONG past 255 bytes, EEXIST for a name
    /// taken, ENOSPC past [`MAX_CHANNELS`].
    pub fn add_channel(&mut self, name: &str, end: Box<dyn ChannelEnd>) -> Result<(), Errno> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return Err(Errno::EINVAL);
        }
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        if self.channels.iter().any(|c| c.borrow().name == name) {
            return Err(Errno::EEXIST);
        }
        if self.channels.len() >= MAX_CHANNELS {
            return Err(Errno::ENOSPC);
        }
        let root = self.fs.root();
        let dev = self.fs.resolve(root, b"/dev", true)?;
        let dir = match self.fs.lookup(dev, b"chan") {
            Ok(d) => d,
            Err(_) => self.fs.create(dev, b"chan", Kind::Dir, 0o755, 0, 0, 0)?,
        };
        let rdev = (CHAN_MAJOR << 8) | self.channels.len() as u64;
        let ino = self
            .fs
            .create(dir, name.as_bytes(), Kind::CharDev(rdev), 0o666, 0, 0, 0)?;
        let id = self.next_pipe;
        self.next_pipe += 1;
        self.channels.push(Rc::new(RefCell::new(Channel {
            name: name.into(),
            id,
            ino,
            rdev,
            end,
            generation: 0,
        })));
        Ok(())
    }

    /// The peer of some channel signalled (data arrived, room was freed,
    /// or it closed): readers, writers, poll, select and epoll_wait
    /// waiting on channels look again.
    pub fn channel_event(&mut self, plat: &mut dyn Platform) {
        let ids: Vec<u64> = self
            .channels
            .iter()
            .map(|c| {
                let mut c = c.borrow_mut();
                c.generation += 1;
                c.id
            })
            .collect();
        for id in ids {
            self.wake_pipe(plat, id);
        }
    }

    /// The channel behind device number `rdev` (ENXIO: none).
    pub(crate) fn channel_of(&self, rdev: u64) -> Result<Rc<RefCell<Channel>>, Errno> {
        if rdev >> 8 != CHAN_MAJOR {
            return Err(Errno::ENXIO);
        }
        self.channels
            .get((rdev & 0xff) as usize)
            .cloned()
            .ok_or(Errno::ENXIO)
    }
}
