//! Host tests of the drivers against the simulated machine ([`crate::sim`]).

mod blk;
mod net;
mod pci;
mod queue;
