//! How each type a model field can have is decoded, and how it is *checked*: walked exactly as the
//! decode walks it, accepting exactly the same JSON, but building nothing.
//!
//! The JSON-text forms (and so the C API) hand a body out unchanged after a check, and a C user must
//! never get OK for a body a Rust user would get a decode error for. Writing the check by hand beside the
//! models (as this crate once did, with a separate "shape" of each model's required fields) let the two
//! drift apart: the shapes skipped optional fields, repeated keys, maps and deep nesting that the models
//! refuse. So the check is generated with the decode, by the same macro and from the same field list
//! ([`lossless_struct!`]), and every field type states both ways of reading it here ([`Field`]). The
//! JSON itself is read by [`Scanner`], which follows serde_json's rules byte for byte without building
//! anything, nearly twice as fast as serde_json walking a body to build nothing (BENCHMARKS.md).
//!
//! A third way, [`Field::build`], walks as the check does and builds the value: the typed decode runs it
//! first (`wire::decode`), since serde_json's reading of strings was most of a snapshot's cost, and
//! leaves to serde_json only a body it refuses, for the error.
//!
//! A unit test (`wire::tests`) and the fuzz target `check_vs_decode` hold the three to the same language
//! and the two builders to the same values.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Number;

use super::raw::RawJson;
use crate::wire::scan::{Refused, Scanner, Verdict};

/// A type a model field can have: how it is decoded, and how it is checked without building it.
///
/// The two must accept exactly the same JSON: `wire::tests` and the fuzz target `check_vs_decode` hold
/// them to it.
pub(crate) trait Field: Sized {
    /// Decodes the value.
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;

    /// Checks the value where the scanner stands, accepting exactly what [`Self::decode`] accepts, and
    /// builds nothing.
    fn check(scanner: &mut Scanner<'_>) -> Verdict;

    /// Builds the value where the scanner stands, walking as [`Self::check`] does: what it builds is
    /// what [`Self::decode`] builds from the same text, and it refuses what the check refuses.
    /// `wire::decode` runs it first and leaves a refused body to `decode`, for the error.
    fn build(scanner: &mut Scanner<'_>) -> Result<Self, Refused>;
}

/// The seed that decodes a required field (or a list item, or a map value).
pub(crate) struct Decode<T>(PhantomData<fn() -> T>);

impl<T> Decode<T> {
    pub(crate) fn new() -> Self {
        Decode(PhantomData)
    }
}

impl<'de, T: Field> DeserializeSeed<'de> for Decode<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::decode(deserializer)
    }
}

/// The seed of an optional field: `null` is `None`, as an absent key is; anything else decodes as `T`.
pub(crate) struct Optional<T>(PhantomData<fn() -> T>);

impl<T> Optional<T> {
    pub(crate) fn new() -> Self {
        Optional(PhantomData)
    }
}

impl<'de, T: Field> DeserializeSeed<'de> for Optional<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Field> Visitor<'de> for Optional<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an optional value")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        T::decode(deserializer).map(Some)
    }
}

/// The types serde decodes by themselves, each checked by one step of the scanner.
macro_rules! scalar_fields {
    ($($ty:ty => $step:ident, $built:expr;)*) => {$(
        impl Field for $ty {
            fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$ty>::deserialize(deserializer)
            }

            fn check(scanner: &mut Scanner<'_>) -> Verdict {
                scanner.$step()
            }

            fn build(scanner: &mut Scanner<'_>) -> Result<Self, Refused> {
                $built(scanner)
            }
        }
    )*};
}

scalar_fields! {
    String => string, Scanner::built_string;
    bool => boolean, Scanner::built_boolean;
    i64 => integer, Scanner::built_integer;
    Number => number, Scanner::built_number;
    // Any JSON value, kept as its text.
    RawJson => skip_value, |scanner: &mut Scanner<'_>| scanner.raw_value().map(RawJson::from_scanned);
}

impl<T: Field> Field for Vec<T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ListVisitor::<T>(PhantomData))
    }

    fn check(scanner: &mut Scanner<'_>) -> Verdict {
        scanner.list(T::check)
    }

    fn build(scanner: &mut Scanner<'_>) -> Result<Self, Refused> {
        let mut items = Vec::new();
        scanner.list(|scanner| {
            items.push(T::build(scanner)?);
            Ok(())
        })?;
        Ok(items)
    }
}

struct ListVisitor<T>(PhantomData<fn() -> T>);

impl<'de, T: Field> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // Grown with the items that arrived, never reserved from a hint.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Decode::<T>::new())? {
            items.push(item);
        }
        Ok(items)
    }
}

/// A JSON object with any keys, all values of one type (such as a snapshot's `indices`). A repeated key is
/// an error, as in a model: keeping only one of its values would lose the other.
impl<T: Field> Field for BTreeMap<String, T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor::<T>(PhantomData))
    }

    fn check(scanner: &mut Scanner<'_>) -> Verdict {
        let mut keys = KeySet::default();
        scanner.object(|scanner, key| {
            keys.insert(key)?;
            T::check(scanner)
        })
    }

    fn build(scanner: &mut Scanner<'_>) -> Result<Self, Refused> {
        let mut entries = BTreeMap::new();
        scanner.object(|scanner, key| match entries.entry(key.into_owned()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(T::build(scanner)?);
                Ok(())
            }
            std::collections::btree_map::Entry::Occupied(_) => Err(Refused),
        })?;
        Ok(entries)
    }
}

struct MapVisitor<T>(PhantomData<fn() -> T>);

impl<'de, T: Field> Visitor<'de> for MapVisitor<T> {
    type Value = BTreeMap<String, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            match entries.entry(key) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(map.next_value_seed(Decode::<T>::new())?);
                }
                std::collections::btree_map::Entry::Occupied(slot) => {
                    return Err(duplicate_key(slot.key()));
                }
            }
        }
        Ok(entries)
    }
}

/// The error of a key given twice in one object.
pub(crate) fn duplicate_key<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate field `{key}`"))
}

/// A key of a JSON object, borrowed from the input unless it held escapes.
pub(crate) struct BorrowedKey<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for BorrowedKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = BorrowedKey<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Borrowed(key)))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(key.to_owned())))
            }

            fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(key)))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The keys seen so far in one object, to refuse a repeated one as the decode does.
#[derive(Default)]
pub(crate) struct KeySet<'a>(BTreeSet<Cow<'a, str>>);

impl<'a> KeySet<'a> {
    pub(crate) fn insert(&mut self, key: Cow<'a, str>) -> Verdict {
        if self.0.insert(key) {
            Ok(())
        } else {
            Err(Refused)
        }
    }
}
