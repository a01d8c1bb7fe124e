//! How engine state that serde cannot write as-is is written: hash maps and sets in key order (so
//! the same state always gives the same bytes), and `&'static str` fields (finding types, reasons,
//! MITRE ids) read back through a small interner.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `&'static str` under another name: serde's derive borrows a field written `&'static str` from
/// its input (which would tie state loading to `'static` input); spelled this way, the field is read
/// as an owned string and interned ([`leak`]).
pub type Name = &'static str;

/// A `&'static str` for `s`: the same one for equal strings. Only state loading calls this, and
/// the strings it sees are the engine's own names (a few hundred), so what it keeps is bounded by
/// the state file's size.
pub fn intern(s: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let set = SET.get_or_init(Default::default);
    let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Values holding `&'static str` that can be read back from their owned form.
pub trait Leak: Sized {
    /// What is read from the state.
    type Owned: DeserializeOwned;
    /// The value, with its strings interned.
    fn leak(owned: Self::Owned) -> Self;
}

impl Leak for &'static str {
    type Owned = String;
    fn leak(s: String) -> Self {
        intern(&s)
    }
}

impl<T: Leak> Leak for Option<T> {
    type Owned = Option<T::Owned>;
    fn leak(o: Self::Owned) -> Self {
        o.map(T::leak)
    }
}

impl<T: Leak> Leak for Vec<T> {
    type Owned = Vec<T::Owned>;
    fn leak(v: Self::Owned) -> Self {
        v.into_iter().map(T::leak).collect()
    }
}

impl<T: Leak + Ord> Leak for BTreeSet<T> {
    type Owned = Vec<T::Owned>;
    fn leak(v: Self::Owned) -> Self {
        v.into_iter().map(T::leak).collect()
    }
}

impl<K: DeserializeOwned + Ord, V: Leak> Leak for BTreeMap<K, V> {
    type Owned = Vec<(K, V::Owned)>;
    fn leak(v: Self::Owned) -> Self {
        v.into_iter().map(|(k, x)| (k, V::leak(x))).collect()
    }
}

impl<A: DeserializeOwned, B: DeserializeOwned, C: Leak> Leak for (A, B, C) {
    type Owned = (A, B, C::Owned);
    fn leak((a, b, c): Self::Owned) -> Self {
        (a, b, C::leak(c))
    }
}

/// `deserialize_with` for fields holding `&'static str`.
pub fn leak<'de, D: Deserializer<'de>, T: Leak>(d: D) -> Result<T, D::Error> {
    T::Owned::deserialize(d).map(T::leak)
}

/// `serialize_with` for a `BTreeMap` whose values hold `&'static str` (written as pairs, which is
/// what [`leak`] reads).
pub fn pairs<S: Serializer, K: Serialize, V: Serialize>(
    m: &BTreeMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter())
}

/// `with` for hash maps: written as `[key, value]` pairs in key order, read back into a map.
pub mod sorted_map {
    use super::*;

    /// Writes the pairs in key order.
    pub fn serialize<S, K, V, H>(m: &HashMap<K, V, H>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        K: Serialize + Ord,
        V: Serialize,
    {
        let mut v: Vec<(&K, &V)> = m.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_seq(v)
    }

    /// Reads the pairs.
    pub fn deserialize<'de, D, K, V, H>(d: D) -> Result<HashMap<K, V, H>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        H: BuildHasher + Default,
    {
        let v: Vec<(K, V)> = Vec::deserialize(d)?;
        let mut m = HashMap::with_capacity_and_hasher(v.len(), H::default());
        m.extend(v);
        Ok(m)
    }
}

/// `with` for hash sets: written in order, read back into a set.
pub mod sorted_set {
    use super::*;

    /// Writes the members in order.
    pub fn serialize<S, T, H>(m: &HashSet<T, H>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize + Ord,
    {
        let mut v: Vec<&T> = m.iter().collect();
        v.sort_unstable();
        s.collect_seq(v)
    }

    /// Reads the members.
    pub fn deserialize<'de, D, T, H>(d: D) -> Result<HashSet<T, H>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Eq + Hash,
        H: BuildHasher + Default,
    {
        let v: Vec<T> = Vec::deserialize(d)?;
        let mut m = HashSet::with_capacity_and_hasher(v.len(), H::default());
        m.extend(v);
        Ok(m)
    }
}

/// `with` for values whose serde form only a self-describing format reads back (the findings
/// schema: optional fields left out, a flattened object, JSON values): written as a JSON string
/// inside the state's compact binary encoding. Only finding drafts use it (a few per finding).
pub mod as_json {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `v` as a JSON string.
    pub fn serialize<S: Serializer, T: Serialize>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(v).map_err(S::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Reads a JSON string.
    pub fn deserialize<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_strings_are_shared_and_equal() {
        let a = intern("RoleChaining");
        let b = intern(&String::from("RoleChaining"));
        assert_eq!(a, "RoleChaining");
        assert!(std::ptr::eq(a, b));
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Draft {
        #[serde(with = "sorted_map")]
        map: HashMap<(String, u8), u32>,
        #[serde(deserialize_with = "leak")]
        kind: Name,
        #[serde(deserialize_with = "leak")]
        mitre: BTreeSet<Name>,
        #[serde(serialize_with = "pairs", deserialize_with = "leak")]
        reasons: BTreeMap<String, Name>,
    }

    #[test]
    fn maps_with_any_keys_and_static_strings_round_trip_in_order() {
        let mut map = HashMap::new();
        map.insert(("b".to_owned(), 1), 2);
        map.insert(("a".to_owned(), 9), 3);
        let d = Draft {
            map,
            kind: "Persistence",
            mitre: ["T1098", "T1078"].into_iter().collect(),
            reasons: [("iam:CreateUser".to_owned(), "a new user")]
                .into_iter()
                .collect(),
        };
        let text = serde_json::to_string(&d).unwrap();
        assert!(
            text.starts_with(r#"{"map":[[["a",9],3],[["b",1],2]]"#),
            "{text}"
        );
        let back: Draft = serde_json::from_str(&text).unwrap();
        assert_eq!(back, d);
    }
}
