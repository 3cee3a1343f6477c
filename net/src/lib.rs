//! Selkie's TCP/IP stack as a library: smoltcp behind a Linux-socket-shaped
//! trait, free of seL4 and of `unsafe`.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod api;
mod device;
pub mod sim;
mod stack;

pub use api::{raw, Kind, Net, Ready, Recvd, Shutdown, SockOpt, SocketId};
pub use device::DeviceStats;
pub use stack::{Config, Stack, Stats, EPHEMERAL_PORTS};

#[cfg(test)]
mod tests;
