//! How the root task divides its untyped memory among the instances.
//!
//! Each instance's quota becomes a few untyped objects of power-of-two
//! sizes (its pool: 96 MiB is 64 + 32), each cut from one of the root
//! task's untyped regions. seL4 cuts an object at the next multiple of its
//! size past what the region has handed out already (its watermark), so the
//! plan follows the same rule: chunks are placed biggest first, each in the
//! region where it fits with the least room left over, and what remains must
//! still cover the root task's reserve (its own objects and the shared
//! services'). The root task carves the chunks in the plan's order, so the
//! watermarks it meets are the plan's.
use alloc::vec::Vec;
use core::fmt;

/// The smallest chunk: quotas are rounded up to whole MiB.
pub const MIN_CHUNK_BITS: u8 = 20;

/// An untyped region the root task holds: its size and what it has handed
/// out so far (its watermark, in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Untyped {
    pub size_bits: u8,
    pub used: u64,
}

/// A piece of a pool: an untyped object of 2^`size_bits` bytes cut from
/// region `parent` (an index into the regions given to [`plan`]) at byte
/// `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub instance: usize,
    pub parent: usize,
    pub size_bits: u8,
    pub offset: u64,
}

/// An instance's pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    pub chunks: Vec<Chunk>,
}

impl Pool {
    pub fn bytes(&self) -> u64 {
        self.chunks.iter().map(|c| 1u64 << c.size_bits).sum()
    }
}

/// Why the memory cannot be divided so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// No region has room for a chunk of this instance's quota.
    NoRoom { instance: usize, chunk_bits: u8 },
    /// The quotas fit, but what is left is less than the root task needs.
    Reserve { left: u64, needed: u64 },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::NoRoom {
                instance,
                chunk_bits,
            } => write!(
                f,
                "no untyped region has room for {} MiB more of instance {instance}'s memory",
                (1u64 << chunk_bits) >> 20
            ),
            PlanError::Reserve { left, needed } => write!(
                f,
                "the instances leave {} MiB, the root task needs {} MiB",
                left >> 20,
                needed >> 20
            ),
        }
    }
}

/// The power-of-two chunks a quota is made of (biggest first), the quota
/// rounded up to whole MiB.
pub fn chunks_of(quota: u64) -> Vec<u8> {
    let unit = 1u64 << MIN_CHUNK_BITS;
    let rounded = quota.div_ceil(unit) * unit;
    (MIN_CHUNK_BITS..64)
        .rev()
        .filter(|&b| rounded & (1u64 << b) != 0)
        .collect()
}

fn align_up(x: u64, bits: u8) -> u64 {
    let a = 1u64 << bits;
    x.div_ceil(a) * a
}

/// Divides `regions` among instances of `quotas` bytes, keeping at least
/// `reserve` bytes for the root task. Returns the chunks in the order the
/// root task must carve them, and each instance's pool.
pub fn plan(
    regions: &[Untyped],
    quotas: &[u64],
    reserve: u64,
) -> Result<(Vec<Chunk>, Vec<Pool>), PlanError> {
    let mut used: Vec<u64> = regions.iter().map(|r| r.used).collect();
    let mut wanted: Vec<(usize, u8)> = quotas
        .iter()
        .enumerate()
        .flat_map(|(i, &q)| chunks_of(q).into_iter().map(move |b| (i, b)))
        .collect();
    // Biggest first; an instance's chunks in their order.
    wanted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut order = Vec::new();
    let mut pools = alloc::vec![Pool::default(); quotas.len()];
    for (instance, bits) in wanted {
        let best = regions
            .iter()
            .enumerate()
            .filter(|(_, r)| r.size_bits >= bits)
            .filter_map(|(j, r)| {
                let offset = align_up(used[j], bits);
                let end = offset.checked_add(1 << bits)?;
                let size = 1u64.checked_shl(r.size_bits as u32).unwrap_or(u64::MAX);
                (end <= size).then(|| (j, offset, size - end))
            })
            .min_by_key(|&(j, _, left)| (left, j));
        let Some((parent, offset, _)) = best else {
            return Err(PlanError::NoRoom {
                instance,
                chunk_bits: bits,
            });
        };
        used[parent] = offset + (1 << bits);
        let c = Chunk {
            instance,
            parent,
            size_bits: bits,
            offset,
        };
        order.push(c);
        pools[instance].chunks.push(c);
    }
    let left: u64 = regions
        .iter()
        .zip(&used)
        .map(|(r, &u)| (1u64 << r.size_bits).saturating_sub(u))
        .sum();
    if left < reserve {
        return Err(PlanError::Reserve {
            left,
            needed: reserve,
        });
    }
    Ok((order, pools))
}
