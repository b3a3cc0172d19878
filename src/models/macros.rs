//! The two macros every model is built with.
//!
//! Why a macro and not `#[derive(Deserialize)]` with `#[serde(flatten)] extra`:
//!
//! * **Untyped JSON is kept exactly**, as [`RawJson`](super::RawJson) (serde_json's `RawValue`). A
//!   flattened field is fed from serde's private buffer of the object (`Content`), which has already
//!   parsed every value into numbers and strings: a `RawValue` cannot be read from it (serde_json
//!   refuses), and a `Value` loses big integers, long decimals and repeated keys. So a flattened `extra`
//!   cannot be lossless.
//! * **The JSON-text check is generated with the decode** from the same field list (see
//!   [`field`](super::field)), so the check the C API runs can never drift from the models.
//! * **A repeated key is an error** (with a flattened map, serde's derive keeps the last value of a key
//!   repeated among the flattened ones), and so is an `extra` entry that shadows a typed key when
//!   writing.
//! * Each model lists its wire keys in `TYPED_KEYS`.
//!
//! Speed is *not* a reason: this file once claimed `flatten` was several times slower, but a derive with
//! `#[serde(flatten)] extra: Map<String, Value>` at every level decoded and encoded a 25.6 MB stand-in
//! snapshot of 5 000 messages in the same time as these macros did then (0.99–1.01×). Keeping untyped
//! parts as raw text is what made decoding faster (BENCHMARKS.md, "Decoding and checking").

/// Declares a JSON object model that keeps every key it does not type.
///
/// ```text
/// lossless_struct! {
///     /// Docs of the struct.
///     #[derive(Clone, Debug, PartialEq)]
///     pub struct Name {
///         /// Docs of the field.
///         required id: String = "id",
///         /// Docs of the field.
///         optional summary_root: RawJson = "summaryRoot",
///     }
/// }
/// ```
///
/// Each field says whether it is `required` (a plain `T`: a missing key is an error naming the wire key)
/// or `optional` (an `Option<T>`: absent and `null` both decode to `None`, and `None` is not written),
/// then its Rust name, the type `T` (a [`Field`](super::field::Field)), and its wire key. The macro adds
/// a public `extra: BTreeMap<String, RawJson>` that collects every other key with its value's exact text;
/// serialization writes the typed fields in the order given, then `extra`. A key that appears twice is an
/// error, as is an `extra` key that duplicates a typed one when writing (the output would otherwise carry
/// it twice).
///
/// Besides serde's traits, the macro implements [`Field`](super::field::Field): the decode, and the check
/// that walks a body as the decode does but builds nothing.
macro_rules! lossless_struct {
    // The Rust type of a field.
    (@type required $ty:ty) => { $ty };
    (@type optional $ty:ty) => { Option<$ty> };

    // How many map entries a field writes.
    (@count required $value:expr) => { 1usize };
    (@count optional $value:expr) => { usize::from($value.is_some()) };

    // Writes a field's entry.
    (@write required $map:ident, $wire:literal, $value:expr) => {
        ::serde::ser::SerializeMap::serialize_entry(&mut $map, $wire, &$value)?;
    };
    (@write optional $map:ident, $wire:literal, $value:expr) => {
        if let Some(value) = &$value {
            ::serde::ser::SerializeMap::serialize_entry(&mut $map, $wire, value)?;
        }
    };

    // The seed that decodes a field's value.
    (@decode required $ty:ty) => { $crate::models::field::Decode::<$ty>::new() };
    (@decode optional $ty:ty) => { $crate::models::field::Optional::<$ty>::new() };

    // Checks a field's value; an optional one may be `null`.
    (@check required $ty:ty, $scanner:ident) => {
        <$ty as $crate::models::field::Field>::check($scanner)
    };
    (@check optional $ty:ty, $scanner:ident) => {
        if $scanner.null()? {
            Ok(())
        } else {
            <$ty as $crate::models::field::Field>::check($scanner)
        }
    };

    // Turns the decoding slot (`None`: the key was not seen) into the field's value.
    (@finish required $slot:ident, $wire:literal, $error:ty) => {
        match $slot {
            Some(value) => value,
            None => return Err(<$error as ::serde::de::Error>::missing_field($wire)),
        }
    };
    (@finish optional $slot:ident, $wire:literal, $error:ty) => {
        // `Some(None)` was an explicit `null`, which means the same as an absent key.
        $slot.flatten()
    };

    // Fails the check where `@finish` fails the decode.
    (@finish_check required $seen:ident) => {
        if !$seen {
            return Err($crate::wire::scan::Refused);
        }
    };
    (@finish_check optional $seen:ident) => {};

    // Builds a field's value; an optional one may be `null`.
    (@build required $ty:ty, $scanner:ident) => {
        <$ty as $crate::models::field::Field>::build($scanner)?
    };
    (@build optional $ty:ty, $scanner:ident) => {
        if $scanner.null()? {
            None
        } else {
            Some(<$ty as $crate::models::field::Field>::build($scanner)?)
        }
    };

    // Turns the building slot into the field's value, refusing where `@finish` fails the decode.
    (@finish_build required $slot:ident) => {
        match $slot {
            Some(value) => value,
            None => return Err($crate::wire::scan::Refused),
        }
    };
    (@finish_build optional $slot:ident) => {
        $slot.flatten()
    };

    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $kind:ident $field:ident : $ty:ty = $wire:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: lossless_struct!(@type $kind $ty),
            )*
            /// Every key of the JSON object that has no typed field here, with its value's exact text;
            /// written back after the typed fields.
            pub extra: ::std::collections::BTreeMap<String, $crate::models::RawJson>,
        }

        impl $name {
            /// The wire keys of the typed fields, in the order they are written. Any other key lands in
            /// `extra`.
            pub const TYPED_KEYS: &'static [&'static str] = &[$($wire),*];
        }

        // The block keeps its helper types out of the module the macro is used in. It imports nothing, so
        // that the field types are named exactly as in the module.
        const _: () = {
            impl ::serde::Serialize for $name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    let len = self.extra.len() $(+ lossless_struct!(@count $kind self.$field))*;
                    let mut map = serializer.serialize_map(Some(len))?;
                    $(lossless_struct!(@write $kind map, $wire, self.$field);)*
                    for (key, value) in &self.extra {
                        if Self::TYPED_KEYS.contains(&key.as_str()) {
                            return Err(<S::Error as ::serde::ser::Error>::custom(format_args!(
                                "{}.extra holds the key `{}`, which is a typed field",
                                stringify!($name),
                                key
                            )));
                        }
                        ::serde::ser::SerializeMap::serialize_entry(&mut map, key, value)?;
                    }
                    ::serde::ser::SerializeMap::end(map)
                }
            }

            // A key is matched against the wire names while it is still borrowed from the input; only
            // keys that go to `extra` are copied.
            #[allow(non_camel_case_types)]
            enum Key<'de> {
                $($field,)*
                Extra(::std::borrow::Cow<'de, str>),
            }

            impl<'de> ::serde::Deserialize<'de> for Key<'de> {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    let $crate::models::field::BorrowedKey(key) =
                        ::serde::Deserialize::deserialize(deserializer)?;
                    Ok(match &*key {
                        $($wire => Key::$field,)*
                        _ => Key::Extra(key),
                    })
                }
            }

            struct ObjectVisitor;

            impl<'de> ::serde::de::Visitor<'de> for ObjectVisitor {
                type Value = $name;

                fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(concat!("a ", stringify!($name), " object"))
                }

                fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                    // The slots' types are inferred from the struct's fields.
                    $(let mut $field = None;)*
                    let mut extra = ::std::collections::BTreeMap::new();
                    while let Some(key) = map.next_key::<Key<'de>>()? {
                        match key {
                            $(
                                Key::$field => {
                                    if $field.is_some() {
                                        return Err(<A::Error as ::serde::de::Error>::duplicate_field($wire));
                                    }
                                    $field = Some(map.next_value_seed(lossless_struct!(@decode $kind $ty))?);
                                }
                            )*
                            Key::Extra(key) => match extra.entry(key.into_owned()) {
                                ::std::collections::btree_map::Entry::Vacant(slot) => {
                                    slot.insert(map.next_value::<$crate::models::RawJson>()?);
                                }
                                ::std::collections::btree_map::Entry::Occupied(slot) => {
                                    return Err($crate::models::field::duplicate_key(slot.key()));
                                }
                            },
                        }
                    }
                    Ok($name {
                        $($field: lossless_struct!(@finish $kind $field, $wire, A::Error),)*
                        extra,
                    })
                }
            }

            impl $crate::models::field::Field for $name {
                fn decode<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    deserializer.deserialize_map(ObjectVisitor)
                }

                // `ObjectVisitor::visit_map`, step by step, keeping only whether each key was seen.
                fn check(scanner: &mut $crate::wire::scan::Scanner<'_>) -> $crate::wire::scan::Verdict {
                    $(let mut $field = false;)*
                    let mut extra = $crate::models::field::KeySet::default();
                    scanner.object(|scanner, key| match &*key {
                        $(
                            $wire => {
                                if $field {
                                    return Err($crate::wire::scan::Refused);
                                }
                                $field = true;
                                lossless_struct!(@check $kind $ty, scanner)
                            }
                        )*
                        _ => {
                            extra.insert(key)?;
                            scanner.skip_value()
                        }
                    })?;
                    $(lossless_struct!(@finish_check $kind $field);)*
                    Ok(())
                }

                // `check`, building what `ObjectVisitor::visit_map` builds.
                fn build(scanner: &mut $crate::wire::scan::Scanner<'_>) -> Result<Self, $crate::wire::scan::Refused> {
                    $(let mut $field = None;)*
                    let mut extra = ::std::collections::BTreeMap::new();
                    scanner.object(|scanner, key| {
                        match &*key {
                            $(
                                $wire => {
                                    if $field.is_some() {
                                        return Err($crate::wire::scan::Refused);
                                    }
                                    $field = Some(lossless_struct!(@build $kind $ty, scanner));
                                }
                            )*
                            _ => match extra.entry(key.into_owned()) {
                                ::std::collections::btree_map::Entry::Vacant(slot) => {
                                    slot.insert(<$crate::models::RawJson as $crate::models::field::Field>::build(scanner)?);
                                }
                                ::std::collections::btree_map::Entry::Occupied(_) => {
                                    return Err($crate::wire::scan::Refused);
                                }
                            },
                        }
                        Ok(())
                    })?;
                    Ok($name {
                        $($field: lossless_struct!(@finish_build $kind $field),)*
                        extra,
                    })
                }
            }

            impl<'de> ::serde::Deserialize<'de> for $name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    <$name as $crate::models::field::Field>::decode(deserializer)
                }
            }
        };
    };
}

/// Declares a string enum that keeps values it does not know.
///
/// ```text
/// lossless_enum! {
///     /// Docs of the enum.
///     pub enum Name {
///         /// Docs of the variant.
///         Known = "KNOWN",
///     }
/// }
/// ```
///
/// The macro adds a last variant `Other(String)` for any other string, and implements `as_str`,
/// `Display`, `FromStr` (never fails), `From<&str>`, `From<String>`, serde (the string itself, so an
/// unknown value is written back unchanged), and `PartialEq`/`Eq`/`Hash` by that string, so that
/// `Other("USER")` built by hand still equals the known variant.
macro_rules! lossless_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $wire:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )*
            /// A value this version of the crate does not know, kept exactly as received.
            Other(String),
        }

        impl $name {
            /// The wire string of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(value) => value,
                }
            }

            /// Whether this is one of the values this version of the crate knows.
            pub fn is_known(&self) -> bool {
                Self::known(self.as_str()).is_some()
            }

            fn known(value: &str) -> Option<Self> {
                match value {
                    $($wire => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        // The block keeps these imports out of the module the macro is used in.
        const _: () = {
            use ::core::convert::Infallible;
            use ::core::hash::{Hash, Hasher};
            use ::core::{fmt, str::FromStr};
            use ::serde::de::{self, Visitor};
            use ::serde::{Deserialize, Deserializer, Serialize, Serializer};

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl FromStr for $name {
                type Err = Infallible;

                fn from_str(value: &str) -> Result<Self, Infallible> {
                    Ok(Self::from(value))
                }
            }

            impl From<&str> for $name {
                fn from(value: &str) -> Self {
                    Self::known(value).unwrap_or_else(|| Self::Other(value.to_owned()))
                }
            }

            impl From<String> for $name {
                fn from(value: String) -> Self {
                    Self::known(&value).unwrap_or(Self::Other(value))
                }
            }

            impl PartialEq for $name {
                fn eq(&self, other: &Self) -> bool {
                    self.as_str() == other.as_str()
                }
            }

            impl Eq for $name {}

            impl Hash for $name {
                fn hash<H: Hasher>(&self, state: &mut H) {
                    self.as_str().hash(state);
                }
            }

            impl Serialize for $name {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }

            struct StringVisitor;

            impl Visitor<'_> for StringVisitor {
                type Value = $name;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(concat!("a ", stringify!($name), " string"))
                }

                fn visit_str<E: de::Error>(self, value: &str) -> Result<$name, E> {
                    Ok($name::from(value))
                }

                fn visit_string<E: de::Error>(self, value: String) -> Result<$name, E> {
                    Ok($name::from(value))
                }
            }

            impl<'de> Deserialize<'de> for $name {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    deserializer.deserialize_str(StringVisitor)
                }
            }

            impl $crate::models::field::Field for $name {
                fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    Self::deserialize(deserializer)
                }

                fn check(scanner: &mut $crate::wire::scan::Scanner<'_>) -> $crate::wire::scan::Verdict {
                    // Any string decodes, as a known value or as `Other`.
                    scanner.string()
                }

                fn build(scanner: &mut $crate::wire::scan::Scanner<'_>) -> Result<Self, $crate::wire::scan::Refused> {
                    scanner.built_string().map($name::from)
                }
            }
        };
    };
}
