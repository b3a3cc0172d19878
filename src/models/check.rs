//! How each type a model field can have is decoded, and how it is *checked*: walked exactly as the
//! decode walks it, accepting exactly the same JSON, but building nothing.
//!
//! The JSON-text forms (and so the C API) hand a body out unchanged after a check, and a C user must
//! never get OK for a body a Rust user would get a decode error for. Writing the check by hand beside the
//! models (as this crate once did, with a separate "shape" of each model's required fields) let the two
//! drift apart: the shapes skipped optional fields, repeated keys, maps and deep nesting that the models
//! refuse. So the check is generated with the decode, by the same macro, from the same field list
//! ([`lossless_struct!`]), and every field type states both ways of reading it here ([`Field`]).
//!
//! What the check may leave out, and why that changes nothing it accepts:
//! * Untyped parts ([`RawJson`](super::RawJson)) are skipped with serde's `IgnoredAny`, which serde_json
//!   runs through the same `ignore_value` as a `RawValue`. (Neither checks UTF-8 there: the decode and
//!   the check both read a body as text, after one UTF-8 pass over all of it, `wire::decode`.)
//! * Strings are borrowed from the input instead of copied, and repeated keys are found among borrowed
//!   keys. serde_json unescapes and checks a string the same way whatever the visitor does with it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Number;

use super::raw::RawJson;

/// A type a model field can have: how it is decoded, and how it is checked without building it.
///
/// The two must accept exactly the same JSON: `tests::the_check_accepts_what_the_decode_accepts` and
/// the fuzz target `check_vs_decode` hold them to it.
pub(crate) trait Field: Sized {
    /// Decodes the value.
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;

    /// Walks the value as [`Self::decode`] does, failing where it fails, and keeps nothing.
    fn check<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error>;
}

/// Accepts exactly the JSON texts that decode as `T`, and builds nothing: what `wire::checked_text`
/// runs.
pub(crate) struct Check<T>(PhantomData<fn() -> T>);

impl<'de, T: Field> Deserialize<'de> for Check<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::check(deserializer).map(|()| Check(PhantomData))
    }
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

/// The seed that checks a required field (or a list item, or a map value).
pub(crate) struct CheckSeed<T>(PhantomData<fn() -> T>);

impl<T> CheckSeed<T> {
    pub(crate) fn new() -> Self {
        CheckSeed(PhantomData)
    }
}

impl<'de, T: Field> DeserializeSeed<'de> for CheckSeed<T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        T::check(deserializer)
    }
}

/// The seed of an optional field: `null` is `None`, as an absent key is; anything else decodes (or is
/// checked, when `CHECK`) as `T`.
pub(crate) struct Optional<T, const CHECK: bool>(PhantomData<fn() -> T>);

impl<T, const CHECK: bool> Optional<T, CHECK> {
    pub(crate) fn new() -> Self {
        Optional(PhantomData)
    }
}

impl<'de, T: Field> DeserializeSeed<'de> for Optional<T, false> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Field> DeserializeSeed<'de> for Optional<T, true> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Field> Visitor<'de> for Optional<T, false> {
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

impl<'de, T: Field> Visitor<'de> for Optional<T, true> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an optional value")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        T::check(deserializer)
    }
}

/// Accepts any JSON string (as `String` and the string enums do) and keeps nothing of it.
pub(crate) struct AnyString;

impl Visitor<'_> for AnyString {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

impl Field for String {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)
    }

    fn check<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_string(AnyString)
    }
}

/// Types that allocate nothing are checked by decoding them.
macro_rules! field_checked_by_decoding {
    ($($ty:ty),*) => {$(
        impl Field for $ty {
            fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$ty>::deserialize(deserializer)
            }

            fn check<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
                <$ty>::deserialize(deserializer).map(drop)
            }
        }
    )*};
}

field_checked_by_decoding!(bool, i64, Number);

impl Field for RawJson {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawJson::deserialize(deserializer)
    }

    fn check<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        // Also what serde_json runs for a RawValue, but for the UTF-8 check (see the module docs).
        IgnoredAny::deserialize(deserializer).map(drop)
    }
}

impl<T: Field> Field for Vec<T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ListVisitor::<T, false>(PhantomData))
    }

    fn check<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(ListVisitor::<T, true>(PhantomData))
    }
}

struct ListVisitor<T, const CHECK: bool>(PhantomData<fn() -> T>);

impl<'de, T: Field> Visitor<'de> for ListVisitor<T, false> {
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

impl<'de, T: Field> Visitor<'de> for ListVisitor<T, true> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(CheckSeed::<T>::new())?.is_some() {}
        Ok(())
    }
}

/// A JSON object with any keys, all values of one type (such as a snapshot's `indices`). A repeated key is
/// an error, as in a model: keeping only one of its values would lose the other.
impl<T: Field> Field for BTreeMap<String, T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor::<T, false>(PhantomData))
    }

    fn check<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(MapVisitor::<T, true>(PhantomData))
    }
}

struct MapVisitor<T, const CHECK: bool>(PhantomData<fn() -> T>);

impl<'de, T: Field> Visitor<'de> for MapVisitor<T, false> {
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

impl<'de, T: Field> Visitor<'de> for MapVisitor<T, true> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = KeySet::default();
        while let Some(key) = map.next_key::<BorrowedKey<'de>>()? {
            keys.insert::<A::Error>(key.0)?;
            map.next_value_seed(CheckSeed::<T>::new())?;
        }
        Ok(())
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
pub(crate) struct KeySet<'de>(BTreeSet<Cow<'de, str>>);

impl<'de> KeySet<'de> {
    pub(crate) fn insert<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        if self.0.contains(&key) {
            return Err(duplicate_key(&key));
        }
        self.0.insert(key);
        Ok(())
    }
}
