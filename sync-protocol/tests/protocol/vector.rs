//! Version vectors against a naive model.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;
use thorbis_sync_protocol::{DeviceId, VersionVector};

/// A handful of devices so that vectors overlap.
fn device() -> impl Strategy<Value = DeviceId> {
    (0..5_u8).prop_map(|n| DeviceId([n; 16]))
}

fn entries() -> impl Strategy<Value = Vec<(DeviceId, u64)>> {
    vec((device(), prop_oneof![0..20_u64, Just(u64::MAX)]), 0..8)
}

fn vector() -> impl Strategy<Value = VersionVector> {
    entries().prop_map(|e| e.into_iter().collect())
}

/// The obvious model: a map with max-on-insert.
fn model(entries: &[(DeviceId, u64)]) -> BTreeMap<DeviceId, u64> {
    let mut map = BTreeMap::new();
    for &(device, seq) in entries {
        let held = map.entry(device).or_insert(0);
        *held = (*held).max(seq);
    }
    map
}

proptest! {
    #[test]
    fn matches_the_model(ours in entries(), theirs in entries()) {
        let (a, b): (VersionVector, VersionVector) =
            (ours.iter().copied().collect(), theirs.iter().copied().collect());
        let (ma, mb) = (model(&ours), model(&theirs));
        for (device, seq) in &ma {
            prop_assert_eq!(a.get(device), *seq);
        }

        let mut expected = Vec::new();
        for (device, &their) in &mb {
            let mine = ma.get(device).copied().unwrap_or(0);
            if their > mine {
                expected.push((*device, mine + 1..=their));
            }
        }
        prop_assert_eq!(a.missing_from(&b), expected);

        let dominates = mb.iter().all(|(d, s)| ma.get(d).copied().unwrap_or(0) >= *s);
        prop_assert_eq!(a.dominates(&b), dominates);
        prop_assert_eq!(a.dominates(&b), a.missing_from(&b).is_empty());
    }

    #[test]
    fn merge_is_a_join(a in vector(), b in vector(), c in vector()) {
        let merged = |x: &VersionVector, y: &VersionVector| {
            let mut m = x.clone();
            m.merge(y);
            m
        };
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        prop_assert_eq!(merged(&a, &a), a.clone());
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        let ab = merged(&a, &b);
        prop_assert!(ab.dominates(&a) && ab.dominates(&b));
        // Receiving exactly what was missing brings a peer up to the merge.
        let mut caught_up = a.clone();
        for (device, range) in a.missing_from(&b) {
            caught_up.advance(device, *range.end());
        }
        prop_assert_eq!(caught_up, ab);
    }

    #[test]
    fn advance_never_goes_back(v in vector(), device in device(), seq in any::<u64>()) {
        let mut after = v.clone();
        after.advance(device, seq);
        prop_assert!(after.dominates(&v));
        prop_assert_eq!(after.get(&device), v.get(&device).max(seq));
    }

    #[test]
    fn json_round_trip(v in vector()) {
        let json = serde_json::to_string(&v).unwrap();
        prop_assert_eq!(serde_json::from_str::<VersionVector>(&json).unwrap(), v);
    }
}
