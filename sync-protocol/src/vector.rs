//! Version vectors: what each peer holds, as one number per device.
//!
//! Because every device's events form a gap-free chain, "everything up to seq *n* of
//! device *d*" summarizes what a peer holds from *d*. Two peers exchange vectors and
//! each sends the other [`VersionVector::missing_from`]: exact ranges, no event-by-event
//! negotiation.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::ids::DeviceId;

/// Per device, the highest seq held contiguously from 1. Absent and 0 both mean "nothing",
/// and zero entries are never stored, so equal vectors compare equal.
///
/// Serializes as a map from device UUID string to seq.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<DeviceId, u64>")]
pub struct VersionVector(BTreeMap<DeviceId, u64>);

impl From<BTreeMap<DeviceId, u64>> for VersionVector {
    fn from(mut map: BTreeMap<DeviceId, u64>) -> Self {
        map.retain(|_, seq| *seq > 0);
        Self(map)
    }
}

impl FromIterator<(DeviceId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (DeviceId, u64)>>(iter: I) -> Self {
        let mut vector = Self::new();
        for (device, seq) in iter {
            vector.advance(device, seq);
        }
        vector
    }
}

impl VersionVector {
    /// An empty vector: holds nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Highest contiguous seq held from `device`; 0 if none.
    #[must_use]
    pub fn get(&self, device: &DeviceId) -> u64 {
        self.0.get(device).copied().unwrap_or(0)
    }

    /// Records that everything up to `seq` from `device` is held. Never moves backwards.
    pub fn advance(&mut self, device: DeviceId, seq: u64) {
        if seq > 0 {
            let held = self.0.entry(device).or_insert(0);
            *held = (*held).max(seq);
        }
    }

    /// Pointwise maximum: afterwards `self` holds what either held.
    pub fn merge(&mut self, other: &VersionVector) {
        for (device, seq) in other.iter() {
            self.advance(device, seq);
        }
    }

    /// `(device, seq)` pairs with seq > 0, in device order.
    pub fn iter(&self) -> impl Iterator<Item = (DeviceId, u64)> + '_ {
        self.0.iter().map(|(device, seq)| (*device, *seq))
    }

    /// Number of devices with at least one event held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` holds at least everything `other` holds (pointwise ≥).
    #[must_use]
    pub fn dominates(&self, other: &VersionVector) -> bool {
        other.iter().all(|(device, seq)| self.get(&device) >= seq)
    }

    /// What `self` lacks that `other` holds: for each device where `other` is ahead, the
    /// inclusive range `self + 1 ..= other`. Sorted by device.
    #[must_use]
    pub fn missing_from(&self, other: &VersionVector) -> Vec<(DeviceId, RangeInclusive<u64>)> {
        other
            .iter()
            .filter_map(|(device, theirs)| {
                let ours = self.get(&device);
                // `ours < theirs`, so `ours + 1` cannot overflow.
                (ours < theirs).then(|| (device, ours + 1..=theirs))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> DeviceId {
        DeviceId([n; 16])
    }

    #[test]
    fn advance_keeps_the_max_and_ignores_zero() {
        let mut v = VersionVector::new();
        v.advance(d(1), 5);
        v.advance(d(1), 3);
        v.advance(d(2), 0);
        assert_eq!(v.get(&d(1)), 5);
        assert_eq!(v.get(&d(2)), 0);
        assert_eq!(v.len(), 1);
        assert_eq!(v, [(d(1), 5)].into_iter().collect());
    }

    #[test]
    fn missing_from_lists_ranges() {
        let ours: VersionVector = [(d(1), 5), (d(2), 9)].into_iter().collect();
        let theirs: VersionVector = [(d(1), 7), (d(2), 4), (d(3), 2)].into_iter().collect();
        assert_eq!(ours.missing_from(&theirs), vec![(d(1), 6..=7), (d(3), 1..=2)]);
        assert_eq!(theirs.missing_from(&ours), vec![(d(2), 5..=9)]);
        assert!(!ours.dominates(&theirs));
        let mut merged = ours.clone();
        merged.merge(&theirs);
        assert!(merged.dominates(&ours) && merged.dominates(&theirs));
        assert!(merged.missing_from(&theirs).is_empty());
    }

    #[test]
    fn serde_is_a_uuid_keyed_map_and_drops_zeros() {
        let v: VersionVector = [(d(1), 5)].into_iter().collect();
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"01010101-0101-0101-0101-010101010101":5}"#);
        assert_eq!(serde_json::from_str::<VersionVector>(&json).unwrap(), v);
        let with_zero = r#"{"01010101-0101-0101-0101-010101010101":5,"02020202-0202-0202-0202-020202020202":0}"#;
        assert_eq!(serde_json::from_str::<VersionVector>(with_zero).unwrap(), v);
    }
}
